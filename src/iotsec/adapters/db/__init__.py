"""Relational storage (SQLAlchemy 2): SQLite by default, PostgreSQL by URL.

Each part declares its tables in its own module here (``adapters/db/<part>.py``) on the shared
:class:`Base`. The schema is versioned with Alembic (``migrate.py``, ``migrations/``): every store
calls ``upgrade_schema`` when it opens, which brings the database to the newest revision or refuses
one it cannot safely handle.
"""

from iotsec.adapters.db.base import Base, default_url, make_engine
from iotsec.adapters.db.migrate import upgrade_schema

__all__ = ["Base", "default_url", "make_engine", "upgrade_schema"]
