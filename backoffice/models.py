"""The BackOffice's tables: who (agencies, stores, users), what arrives (registers, Z-reports), what goes
out (exports), the Fortnox side (connection, imported chart, series, cost centers, preflight), and the
audit log and alerts that tell people what happened.

Every row that belongs to a store carries ``store_id``; every query a person makes goes through
:mod:`backoffice.access`, which scopes it to the stores that person may see.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import Base, Money

AGENCY_ADMIN = "agency_admin"
STORE_MANAGER = "store_manager"
ROLES = (AGENCY_ADMIN, STORE_MANAGER)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Agency(Base):
    """A franchise agency or accounting bureau; a single store is an agency of one."""

    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str] = mapped_column(String(11))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Agency] = relationship()
    settings: Mapped[SyncSettings] = relationship(back_populates="store", uselist=False)


class SyncSettings(Base):
    """DESIGN.md section 6: what the store sends to Fortnox and how."""

    __tablename__ = "sync_settings"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    sync_sales: Mapped[bool] = mapped_column(default=True)
    invoicing: Mapped[bool] = mapped_column(default=False)
    allow_tip_on_invoice: Mapped[bool] = mapped_column(default=False)
    use_order_instead_of_invoice: Mapped[bool] = mapped_column(default=False)
    voucher_series: Mapped[str | None] = mapped_column(String(10))
    cost_center: Mapped[str | None] = mapped_column(String(20))
    project: Mapped[str | None] = mapped_column(String(20))
    #: Store-local time of day (HH:MM) the morning after which a day is posted; empty: as soon as it arrives.
    posting_time: Mapped[str] = mapped_column(String(5), default="06:00")
    #: The integration's start date: the first business day it may send (None: any day). Days before it
    #: go to the books another way, e.g. a SIE file (DESIGN.md section 7; backoffice.services.day_claims).
    sync_from: Mapped[date | None]
    #: Attach the Z-report PDF to each posted voucher (backoffice.pipeline.attachments).
    attach_z_report: Mapped[bool] = mapped_column(default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    store: Mapped[Store] = relationship(back_populates="settings")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default=STORE_MANAGER)
    language: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(default=True)
    #: The password was set by someone else (an admin, the command line): change it at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    agency: Mapped[Agency] = relationship()
    stores: Mapped[list[Store]] = relationship(secondary="user_stores")

    @property
    def is_agency_admin(self) -> bool:
        return self.role == AGENCY_ADMIN


class UserStore(Base):
    """Which stores a store manager manages (an agency admin sees every store of the agency)."""

    __tablename__ = "user_stores"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)


class Register(Base):
    """A cash register enrolled through its bridge; it authenticates with a device token kept hashed."""

    __tablename__ = "registers"
    __table_args__ = (UniqueConstraint("store_id", "register_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    #: The register's own id as it appears in its Z-reports (``register.id``), e.g. "Kassa 1".
    register_key: Mapped[str] = mapped_column(String(100))
    control_unit_id: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_contact_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    store: Mapped[Store] = relationship()


class EnrollmentCode(Base):
    """A one-time code a manager gives the bridge; it expires and works once. Kept hashed."""

    __tablename__ = "enrollment_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    register_id: Mapped[int | None] = mapped_column(ForeignKey("registers.id"))


class MappingEntry(Base):
    """One account of the store's mapping, laid over the BAS defaults.

    ``kind`` is a section of the mapping file (``payment_methods``, ``product_groups``, ``output_vat``,
    ``tips``, ``rounding``, ``cash_difference``); ``key`` is the payment method, ``group|rate`` for a
    product group, the VAT rate, or empty for the single accounts.
    """

    __tablename__ = "mapping_entries"
    __table_args__ = (UniqueConstraint("store_id", "kind", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(120), default="")
    account: Mapped[int]


class ZReportRecord(Base):
    """An accepted Z-report: the JSON exactly as received, and what the BackOffice read from it."""

    __tablename__ = "z_reports"
    __table_args__ = (
        UniqueConstraint("register_id", "z_number"),
        Index("ix_z_reports_store_date", "store_id", "business_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"))
    z_number: Mapped[int]
    business_date: Mapped[date]
    raw_json: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    gross_sales: Mapped[Money]
    total_payments: Mapped[Money]
    #: Skatteverket items the report lacks (accepted for bookkeeping, flagged).
    missing_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: What the report books on (``payment_method:card``, ``product_group:Mat:12``, ``tips``...), so the
    #: mapping page can list keys seen but unmapped without re-reading every report.
    mapping_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    register: Mapped[Register] = relationship()
    exports: Mapped[list[Export]] = relationship(back_populates="z_report", order_by="Export.channel")


class RefusedReport(Base):
    """A Z-report the API refused (422 invalid, 409 conflicting), kept as received for review."""

    __tablename__ = "refused_reports"
    __table_args__ = (Index("ix_refused_reports_store", "store_id", "received_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"))
    #: ``invalid`` (422) or ``conflict`` (409: same Z number, other content).
    reason: Mapped[str] = mapped_column(String(20))
    z_number: Mapped[int | None]
    raw_body: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(64))
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    conflicts_with_id: Mapped[int | None] = mapped_column(ForeignKey("z_reports.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When it stopped waiting for review: dismissed by a person (``reviewed_by``), or settled by an
    #: accepted report of the same register that took its place (``settled_by_id``).
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("z_reports.id"))


class Export(Base):
    """One Z-report through one channel (``fortnox``, ``sie``); DESIGN.md section 4 is its state machine."""

    __tablename__ = "exports"
    __table_args__ = (
        UniqueConstraint("z_report_id", "channel"),
        Index("ix_exports_store_date", "store_id", "business_date"),
        Index("ix_exports_state", "state", "next_attempt_at"),
        Index("ix_exports_attachment", "attachment_state", "attachment_due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    z_report_id: Mapped[int] = mapped_column(ForeignKey("z_reports.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    business_date: Mapped[date]
    channel: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_fix: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    #: Where it landed, e.g. the Fortnox voucher "K 142".
    external_ref: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: The accounting system's own error code of the last refusal (e.g. Fortnox 2001304).
    error_code: Mapped[str | None] = mapped_column(String(20))
    #: The worker sending it and since when; a ``posting`` export whose claim is old was left by a
    #: worker that died, and is reconciled by marker before anything is sent again.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]
    #: For ``held_duplicate``: the vouchers found that seem to book the day already.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: 0 for the first voucher; a correction after a mapping change counts up (a new marker).
    revision: Mapped[int] = mapped_column(default=0)
    #: For a correction: the posted voucher (its JSON) that a reversal must cancel first.
    reverses_json: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The manager chose "post anyway" on a held duplicate: skip the duplicate check once.
    forced: Mapped[bool] = mapped_column(default=False)
    #: The voucher as posted (its JSON), so a correction can reverse exactly what is in the books.
    posted_json: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The Z-report PDF on the posted voucher (backoffice.pipeline.attachments): None (nothing to attach),
    #: ``pending`` (due at ``attachment_due_at``), ``attached`` or ``failed`` (a person must look).
    attachment_state: Mapped[str | None] = mapped_column(String(20))
    #: The accounting system's reference of the file (Fortnox FileId, Visma attachment id), recorded as
    #: soon as it is uploaded, before it is connected, so a retry never uploads it twice.
    attachment_ref: Mapped[str | None] = mapped_column(String(100))
    attachment_error: Mapped[str | None] = mapped_column(Text)
    attachment_fix: Mapped[str | None] = mapped_column(Text)
    attachment_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    attachment_due_at: Mapped[datetime | None]
    #: The voucher to attach to, as the accounting system named it (``PostedVoucher`` fields).
    attachment_target: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    z_report: Mapped[ZReportRecord] = relationship(back_populates="exports")
    store: Mapped[Store] = relationship()


class ExportLease(Base):
    """Which worker works a tenant's exports now (see backoffice.pipeline.worker)."""

    __tablename__ = "export_leases"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what, when: people, registers and the system alike."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_store", "store_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The user's e-mail, ``register:<key>`` or ``system``: readable even after the user is gone.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Alert(Base):
    """Something a person should look at; open until resolved."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_store_open", "store_id", "resolved_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    fix: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class FortnoxConnection(Base):
    """A store's link to its accounting system: one per store, so one system at a time. The table keeps
    its first name (Fortnox came first); ``provider`` says which system (``fortnox`` or ``visma``, an
    identifier of :mod:`exporters.providers`), and the imported chart, series and cost centers below are
    that system's. Tokens are encrypted (MultiFernet) and refreshed under a row lock, because a refresh
    token works once (Fortnox's and Visma's alike)."""

    __tablename__ = "fortnox_connections"
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), unique=True)
    #: The accounting system; switching is disconnect, then connect the other with a start date.
    provider: Mapped[str] = mapped_column(String(20), default="fortnox", server_default="fortnox")
    #: ``connected``, ``reconnect_needed`` or ``disconnected``.
    status: Mapped[str] = mapped_column(String(20), default="disconnected")
    tenant_id: Mapped[str | None] = mapped_column(String(100))
    company_name: Mapped[str | None] = mapped_column(String(200))
    company_org_number: Mapped[str | None] = mapped_column(String(20))
    scopes: Mapped[str] = mapped_column(Text, default="")
    #: The token pair (``TokenSet.to_json``) encrypted with ``TokenCipher``; the times below are copies
    #: in the clear, for the overview pages.
    tokens_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    refresh_issued_at: Mapped[datetime | None]
    connected_at: Mapped[datetime | None]
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OAuthAttempt(Base):
    """A Connect in progress: the ``state`` sent to the accounting system and the PKCE verifier kept for
    the callback, which system it is for and, when it switches the store over, the start date asked for."""

    __tablename__ = "oauth_attempts"
    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code_verifier: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(20), default="fortnox", server_default="fortnox")
    start_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FortnoxAccount(Base):
    """The chart of accounts imported from Fortnox, for the mapping pickers and preflight."""

    __tablename__ = "fortnox_accounts"
    __table_args__ = (UniqueConstraint("store_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    number: Mapped[int]
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    cost_center_rule: Mapped[str] = mapped_column(String(12), default="ALLOWED")
    project_rule: Mapped[str] = mapped_column(String(12), default="ALLOWED")


class FortnoxVoucherSeries(Base):
    __tablename__ = "fortnox_voucher_series"
    __table_args__ = (UniqueConstraint("store_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(200), default="")
    manual: Mapped[bool] = mapped_column(default=True)


class FortnoxCostCenter(Base):
    __tablename__ = "fortnox_cost_centers"
    __table_args__ = (UniqueConstraint("store_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)


class PreflightResult(Base):
    """The latest preflight of a store: every check with its evidence and fix."""

    __tablename__ = "preflight_results"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool]
    #: ``[{"name", "ok", "evidence", "fix"}]`` in the order the checks ran.
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


# Tables defined beside their services, registered on Base.metadata with the rest (migrations, tests).
from backoffice.notify import models as _notify_models  # noqa: E402, F401
from backoffice.operations import models as _operations_models  # noqa: E402, F401
from backoffice.services import background as _background  # noqa: E402, F401
from backoffice.services import day_claims as _day_claims  # noqa: E402, F401
