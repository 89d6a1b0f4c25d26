"""EST (RFC 7030) message formats. Pure: the transport lives in ``iotsec.adapters.http.est``.

The package's API is that of ``messages``: its ``__all__`` is the one list of the public names."""

from iotsec.core.est.messages import *  # noqa: F403
from iotsec.core.est.messages import __all__ as __all__
