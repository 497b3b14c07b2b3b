"""one channel per day (SIE guard layer 1): day_claims, and the integration's start date

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "day_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_day_claims_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_claims")),
        sa.UniqueConstraint("store_id", "business_date", name=op.f("uq_day_claims_store_id_business_date")),
    )
    with op.batch_alter_table("sync_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sync_from", sa.Date(), nullable=True))
    # Days already sent before this migration belong to the channel that sent them.
    op.execute(
        "INSERT INTO day_claims (store_id, business_date, channel, claimed_at, detail) "
        "SELECT store_id, business_date, MIN(channel), MIN(updated_at), 'sent before day claims existed' "
        "FROM exports WHERE state IN ('posting', 'posted', 'uncertain') "
        "GROUP BY store_id, business_date"
    )


def downgrade() -> None:
    with op.batch_alter_table("sync_settings", schema=None) as batch_op:
        batch_op.drop_column("sync_from")
    op.drop_table("day_claims")
