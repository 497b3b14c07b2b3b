"""background jobs of the BackOffice: "check all now" and the like (backoffice.services.background)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backoffice_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("active_key", sa.String(length=60), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_backoffice_jobs_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_backoffice_jobs_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backoffice_jobs")),
        sa.UniqueConstraint("active_key", name=op.f("uq_backoffice_jobs_active_key")),
    )
    op.create_index("ix_backoffice_jobs_agency_kind", "backoffice_jobs", ["agency_id", "kind"])
    op.create_index("ix_backoffice_jobs_state", "backoffice_jobs", ["state"])


def downgrade() -> None:
    op.drop_index("ix_backoffice_jobs_state", table_name="backoffice_jobs")
    op.drop_index("ix_backoffice_jobs_agency_kind", table_name="backoffice_jobs")
    op.drop_table("backoffice_jobs")
