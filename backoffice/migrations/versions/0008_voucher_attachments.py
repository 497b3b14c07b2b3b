"""the Z-report PDF attached to each posted voucher

Each export keeps the state of its attachment (pending, attached, failed), the voucher to attach to, the
accounting system's reference of the uploaded file, the last error with its fix, and when the next try is
due; a store can turn attaching off (on by default).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachment_state", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("attachment_ref", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("attachment_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("attachment_fix", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("attachment_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("attachment_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("attachment_target", sa.JSON(), nullable=True))
        batch_op.create_index(
            "ix_exports_attachment", ["attachment_state", "attachment_due_at"], unique=False
        )
    with op.batch_alter_table("sync_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attach_z_report", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_settings", schema=None) as batch_op:
        batch_op.drop_column("attach_z_report")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index("ix_exports_attachment")
        batch_op.drop_column("attachment_target")
        batch_op.drop_column("attachment_due_at")
        batch_op.drop_column("attachment_attempts")
        batch_op.drop_column("attachment_fix")
        batch_op.drop_column("attachment_error")
        batch_op.drop_column("attachment_ref")
        batch_op.drop_column("attachment_state")
