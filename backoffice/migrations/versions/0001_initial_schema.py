"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
    )
    op.create_table(
        "stores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_number", sa.String(length=11), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_stores_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
    )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stores_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_users_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_alerts_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_store_open", ["store_id", "resolved_at"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_audit_log_agency_id_agencies")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_audit_log_store_id_stores")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_store", ["store_id", "at"], unique=False)

    op.create_table(
        "fortnox_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("cost_center_rule", sa.String(length=12), nullable=False),
        sa.Column("project_rule", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_fortnox_accounts_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fortnox_accounts")),
        sa.UniqueConstraint("store_id", "number", name=op.f("uq_fortnox_accounts_store_id_number")),
    )
    op.create_table(
        "fortnox_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("company_org_number", sa.String(length=20), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("tokens_enc", sa.Text(), nullable=True),
        sa.Column("access_expires_at", sa.DateTime(), nullable=True),
        sa.Column("refresh_issued_at", sa.DateTime(), nullable=True),
        sa.Column("connected_at", sa.DateTime(), nullable=True),
        sa.Column("connected_by_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connected_by_id"], ["users.id"], name=op.f("fk_fortnox_connections_connected_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_fortnox_connections_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fortnox_connections")),
        sa.UniqueConstraint("store_id", name=op.f("uq_fortnox_connections_store_id")),
    )
    op.create_table(
        "fortnox_cost_centers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_fortnox_cost_centers_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fortnox_cost_centers")),
        sa.UniqueConstraint("store_id", "code", name=op.f("uq_fortnox_cost_centers_store_id_code")),
    )
    op.create_table(
        "fortnox_voucher_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_fortnox_voucher_series_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fortnox_voucher_series")),
        sa.UniqueConstraint("store_id", "code", name=op.f("uq_fortnox_voucher_series_store_id_code")),
    )
    op.create_table(
        "mapping_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("account", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_mapping_entries_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mapping_entries")),
        sa.UniqueConstraint("store_id", "kind", "key", name=op.f("uq_mapping_entries_store_id_kind_key")),
    )
    with op.batch_alter_table("mapping_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mapping_entries_store_id"), ["store_id"], unique=False)

    op.create_table(
        "oauth_attempts",
        sa.Column("state", sa.String(length=100), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_verifier", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_oauth_attempts_store_id_stores")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_oauth_attempts_user_id_users")),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_oauth_attempts")),
    )
    op.create_table(
        "preflight_results",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_preflight_results_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_preflight_results")),
    )
    op.create_table(
        "registers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("register_key", sa.String(length=100), nullable=False),
        sa.Column("control_unit_id", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(), nullable=False),
        sa.Column("last_contact_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_registers_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registers")),
        sa.UniqueConstraint("store_id", "register_key", name=op.f("uq_registers_store_id_register_key")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_registers_token_hash")),
    )
    with op.batch_alter_table("registers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registers_store_id"), ["store_id"], unique=False)

    op.create_table(
        "sync_settings",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("sync_sales", sa.Boolean(), nullable=False),
        sa.Column("invoicing", sa.Boolean(), nullable=False),
        sa.Column("allow_tip_on_invoice", sa.Boolean(), nullable=False),
        sa.Column("use_order_instead_of_invoice", sa.Boolean(), nullable=False),
        sa.Column("voucher_series", sa.String(length=10), nullable=True),
        sa.Column("cost_center", sa.String(length=20), nullable=True),
        sa.Column("project", sa.String(length=20), nullable=True),
        sa.Column("posting_time", sa.String(length=5), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_sync_settings_store_id_stores")),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_sync_settings")),
    )
    op.create_table(
        "user_stores",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_user_stores_store_id_stores"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_stores_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "store_id", name=op.f("pk_user_stores")),
    )
    op.create_table(
        "enrollment_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("register_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_enrollment_codes_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_enrollment_codes_register_id_registers")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_enrollment_codes_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_enrollment_codes_code_hash")),
    )
    with op.batch_alter_table("enrollment_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrollment_codes_store_id"), ["store_id"], unique=False)

    op.create_table(
        "z_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("z_number", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("raw_json", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("gross_sales", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("total_payments", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("missing_items", sa.JSON(), nullable=False),
        sa.Column("mapping_keys", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_z_reports_register_id_registers")
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_z_reports_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_z_reports")),
        sa.UniqueConstraint("register_id", "z_number", name=op.f("uq_z_reports_register_id_z_number")),
    )
    with op.batch_alter_table("z_reports", schema=None) as batch_op:
        batch_op.create_index("ix_z_reports_store_date", ["store_id", "business_date"], unique=False)

    op.create_table(
        "exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("z_report_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_fix", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_exports_store_id_stores")),
        sa.ForeignKeyConstraint(
            ["z_report_id"], ["z_reports.id"], name=op.f("fk_exports_z_report_id_z_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
        sa.UniqueConstraint("z_report_id", "channel", name=op.f("uq_exports_z_report_id_channel")),
    )
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.create_index("ix_exports_state", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_exports_store_date", ["store_id", "business_date"], unique=False)

    op.create_table(
        "refused_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("z_number", sa.Integer(), nullable=True),
        sa.Column("raw_body", sa.Text(), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("conflicts_with_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conflicts_with_id"],
            ["z_reports.id"],
            name=op.f("fk_refused_reports_conflicts_with_id_z_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_refused_reports_register_id_registers")
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_refused_reports_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refused_reports")),
    )
    with op.batch_alter_table("refused_reports", schema=None) as batch_op:
        batch_op.create_index("ix_refused_reports_store", ["store_id", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refused_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_refused_reports_store")

    op.drop_table("refused_reports")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index("ix_exports_store_date")
        batch_op.drop_index("ix_exports_state")

    op.drop_table("exports")
    with op.batch_alter_table("z_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_z_reports_store_date")

    op.drop_table("z_reports")
    with op.batch_alter_table("enrollment_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_codes_store_id"))

    op.drop_table("enrollment_codes")
    op.drop_table("user_stores")
    op.drop_table("sync_settings")
    with op.batch_alter_table("registers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registers_store_id"))

    op.drop_table("registers")
    op.drop_table("preflight_results")
    op.drop_table("oauth_attempts")
    with op.batch_alter_table("mapping_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mapping_entries_store_id"))

    op.drop_table("mapping_entries")
    op.drop_table("fortnox_voucher_series")
    op.drop_table("fortnox_cost_centers")
    op.drop_table("fortnox_connections")
    op.drop_table("fortnox_accounts")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_store")

    op.drop_table("audit_log")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_store_open")

    op.drop_table("alerts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_agency_id"))

    op.drop_table("users")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stores_agency_id"))

    op.drop_table("stores")
    op.drop_table("agencies")
