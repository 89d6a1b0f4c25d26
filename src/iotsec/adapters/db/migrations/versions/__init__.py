"""Schema revisions, oldest first: ``v<NNNN>_<slug>.py`` with revision id ``NNNN``."""
