"""The Alembic environment of iotsec.

Alembic runs this file for every command. iotsec drives it only through
:mod:`iotsec.adapters.db.migrate`, which passes an open connection (holding the schema lock and a
transaction) in ``config.attributes["connection"]``: the migrations then run in that transaction
and the caller commits or rolls back. There is no offline (``--sql``) mode and no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from iotsec.adapters.db.migrate import VERSION_TABLE, compare_options, target_metadata
from iotsec.errors import ConfigError

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(connection, Connection):
    raise ConfigError(
        "iotsec migrations run on a connection given by iotsec.adapters.db.migrate (`iotsec db upgrade`)",
        reason="db.migrate.connection",
    )
context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    version_table=VERSION_TABLE,
    **compare_options(),
)
with context.begin_transaction():  # a no-op: the caller's transaction is already open
    context.run_migrations()
