"""iotsec: the IETF security technologies for IoT devices, in one system.

See DESIGN.md for the layers: ``core`` (pure, I/O-free), ``services``, ``adapters``,
``agent`` and ``cli``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
