"""one accounting system per store, switching with a start date

The store's accounting connection (the ``fortnox_connections`` table, kept under its first name) names
its provider. A Connect in progress remembers which system it is for and, when it switches the store
from another system, the start date asked for (it becomes ``sync_settings.sync_from`` once connected).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fortnox_connections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider", sa.String(length=20), nullable=False, server_default="fortnox")
        )
    with op.batch_alter_table("oauth_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider", sa.String(length=20), nullable=False, server_default="fortnox")
        )
        batch_op.add_column(sa.Column("start_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_attempts", schema=None) as batch_op:
        batch_op.drop_column("start_date")
        batch_op.drop_column("provider")
    with op.batch_alter_table("fortnox_connections", schema=None) as batch_op:
        batch_op.drop_column("provider")
