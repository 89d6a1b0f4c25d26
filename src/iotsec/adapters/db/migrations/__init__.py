"""Alembic migrations of iotsec's database (run by :mod:`iotsec.adapters.db.migrate`).

``env.py`` is the Alembic environment, ``versions/`` holds one revision per schema change
(``v0001_baseline.py`` is the schema of iotsec 0.1), ``script.py.mako`` the template of new ones.
"""
