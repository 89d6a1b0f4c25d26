"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Runs inside the one transaction that ``iotsec.adapters.db.migrate`` holds (SQLite and PostgreSQL
both have transactional DDL): a failure leaves the database as it was. Keep every row: add columns
nullable or with a server default, copy data before dropping anything.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = "${up_revision}"
down_revision = ${f'"{down_revision}"' if down_revision else "None"}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
