"""Baseline: the tables of iotsec 0.1 (EST store and verifier store).

Revision ID: 0001
Revises:
Create Date: 2026-05-14

:func:`schema` is a frozen copy of the tables that ``Base.metadata.create_all`` made before iotsec
versioned its schema; it must not follow later model changes (those are new revisions).

:func:`upgrade` creates the tables that are missing. On an empty database that is all of them. On
a database made by ``create_all`` (no revision stamp yet), ``iotsec.adapters.db.migrate`` first
checks that every iotsec table present equals its copy here and refuses otherwise; the tables that
one part alone had created (``iotsec est`` made only ``est_*``, the verifier only ``rats_*``) are
kept with their rows, the others are added, and Alembic stamps the revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from iotsec.errors import ConfigError

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def schema() -> sa.MetaData:
    """The iotsec 0.1 schema, column for column in model order (``adapters/db/est.py``, ``rats.py``)."""
    md = sa.MetaData()
    sa.Table(
        "est_devices",
        md,
        sa.Column("device", sa.String(36), primary_key=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("mud_url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(200), nullable=True),
        sa.Column("secret_used_at", _tz(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", _tz(), nullable=True),
        sa.Column("current_ldevid", sa.String(64), nullable=True),
    )
    sa.Table(
        "est_certs",
        md,
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("serial", sa.String(42), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("not_after", _tz(), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("device", sa.String(36), nullable=True, index=True),
        sa.Column("revoked_at", _tz(), nullable=True),
        sa.Column("revocation_reason", sa.String(40), nullable=True),
    )
    sa.Table(
        "est_events",
        md,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", _tz(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("device", sa.String(36), nullable=True, index=True),
        sa.Column("label", sa.String(64), nullable=True),
    )
    sa.Table(
        "est_pending",
        md,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("device", sa.String(36), nullable=False, index=True),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("label", sa.String(64), nullable=True),
    )
    sa.Table(
        "est_crl_numbers",
        md,
        sa.Column("issuer", sa.String(1000), primary_key=True),
        sa.Column("number", sa.Integer(), nullable=False),
    )
    sa.Table(
        "rats_sessions",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("expiry", _tz(), nullable=False),
        sa.Column("accept", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("evidence_type", sa.Text(), nullable=True),
        sa.Column("evidence", sa.LargeBinary(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("failure", sa.String(128), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
    )
    sa.Table(
        "rats_endorsements",
        md,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("corim_id", sa.String(256), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("created", _tz(), nullable=False, server_default=sa.func.now()),
    )
    return md


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    for table in schema().sorted_tables:
        if table.name not in present:
            table.create(bind)  # the same DDL (and indexes) create_all emitted


def downgrade() -> None:
    raise ConfigError(
        "iotsec does not downgrade below its baseline schema: restore a backup instead",
        reason="db.schema.downgrade",
    )
