"""guard and accounts: days booked by hand claimed, refused reports settled, first sign-in password change

- ``users.must_change_password``: a password someone else set (``dagskassa users create``, the agency's
  people page) is changed at the first sign-in; existing users are unaffected (false).
- ``refused_reports.reviewed_by`` (who dismissed it) and ``settled_by_id`` (the accepted Z-report that
  took its place), so the review page says why it is no longer open.
- Days already marked as booked by hand are claimed for the ``manual`` channel (DESIGN.md section 7,
  layer 1), unless another channel holds them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("refused_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("settled_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_refused_reports_settled_by_id_z_reports"), "z_reports", ["settled_by_id"], ["id"]
        )
    op.execute(
        "INSERT INTO day_claims (store_id, business_date, channel, claimed_at, detail) "
        "SELECT e.store_id, e.business_date, 'manual', MIN(COALESCE(e.posted_at, e.updated_at)), "
        "'marked as booked by hand (before such days were claimed)' "
        "FROM exports e WHERE e.state = 'posted' AND e.external_ref = 'marked by hand' "
        "AND NOT EXISTS (SELECT 1 FROM day_claims c "
        "WHERE c.store_id = e.store_id AND c.business_date = e.business_date) "
        "GROUP BY e.store_id, e.business_date"
    )


def downgrade() -> None:
    op.execute("DELETE FROM day_claims WHERE channel = 'manual'")
    with op.batch_alter_table("refused_reports", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_refused_reports_settled_by_id_z_reports"), type_="foreignkey")
        batch_op.drop_column("settled_by_id")
        batch_op.drop_column("reviewed_by")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
