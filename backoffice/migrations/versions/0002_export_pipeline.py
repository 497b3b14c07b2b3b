"""export pipeline: claims, evidence, corrections, tenant leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("posted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reverses_json", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("forced", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "export_leases",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_export_leases")),
    )


def downgrade() -> None:
    op.drop_table("export_leases")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        for column in (
            "forced",
            "reverses_json",
            "revision",
            "evidence",
            "posted_at",
            "claimed_at",
            "claimed_by",
            "error_code",
        ):
            batch_op.drop_column(column)
