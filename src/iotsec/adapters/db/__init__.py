"""Relational storage (SQLAlchemy 2): SQLite by default, PostgreSQL by URL.

Each part declares its tables in its own module here (``adapters/db/<part>.py``) on the shared
:class:`Base`, so one ``create_schema`` call builds everything.
"""

from iotsec.adapters.db.base import Base, create_schema, default_url, make_engine

__all__ = ["Base", "create_schema", "default_url", "make_engine"]
