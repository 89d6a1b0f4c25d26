"""The ``iotsec`` command line: one sub-command group per part (see ``main.GROUPS``)."""
