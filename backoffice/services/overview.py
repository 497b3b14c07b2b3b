"""What the overview pages show: a store's connection, last days and alerts, and the agency's table of
every store (one query, however many stores)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from backoffice.access import visible_stores
from backoffice.models import (
    Alert,
    Export,
    FortnoxConnection,
    PreflightResult,
    Register,
    Store,
    User,
    ZReportRecord,
    utcnow,
)
from backoffice.services.switching import name as system_name

#: Fortnox kills a refresh token after 45 days; warn well before.
REFRESH_WARN_AFTER = timedelta(days=40)
CONNECTED, EXPIRING, RECONNECT, NOT_CONNECTED = "connected", "expiring", "reconnect_needed", "not_connected"
STATUS_LABELS = {
    CONNECTED: "Connected",
    EXPIRING: "Tokens expire soon",
    RECONNECT: "Reconnect needed",
    NOT_CONNECTED: "Not connected",
}


def connection_status(status: str | None, refresh_issued_at: datetime | None, now: datetime) -> str:
    if status == "connected":
        if refresh_issued_at is not None and now - refresh_issued_at > REFRESH_WARN_AFTER:
            return EXPIRING
        return CONNECTED
    if status == "reconnect_needed":
        return RECONNECT
    return NOT_CONNECTED


def store_connection(session: Session, store: Store) -> FortnoxConnection | None:
    return session.scalars(
        select(FortnoxConnection).where(FortnoxConnection.store_id == store.id)
    ).one_or_none()


def last_days(session: Session, store: Store, limit: int = 14) -> list[ZReportRecord]:
    return list(
        session.scalars(
            select(ZReportRecord)
            .where(ZReportRecord.store_id == store.id)
            .options(selectinload(ZReportRecord.exports), selectinload(ZReportRecord.register))
            .order_by(ZReportRecord.business_date.desc(), ZReportRecord.id.desc())
            .limit(limit)
        )
    )


def open_alerts(session: Session, store: Store) -> list[Alert]:
    return list(
        session.scalars(
            select(Alert)
            .where(Alert.store_id == store.id, Alert.resolved_at.is_(None))
            .order_by(Alert.id.desc())
        )
    )


def yesterday_missing(session: Session, store: Store, now: datetime | None = None) -> date | None:
    """Yesterday (store-local) when the store has registers but no Z-report for it, else None."""
    now = now or utcnow()
    local_today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(store.timezone)).date()
    yesterday = local_today - timedelta(days=1)
    has_registers = session.scalar(
        select(func.count())
        .select_from(Register)
        .where(Register.store_id == store.id, Register.revoked_at.is_(None))
    )
    if not has_registers:
        return None
    found = session.scalar(
        select(func.count())
        .select_from(ZReportRecord)
        .where(ZReportRecord.store_id == store.id, ZReportRecord.business_date == yesterday)
    )
    return None if found else yesterday


PROBLEM_STATES = ("needs_attention", "rejected", "uncertain", "held_duplicate")


@dataclass(frozen=True)
class AgencyRow:
    store_id: int
    name: str
    org_number: str
    connection: str
    checked_at: datetime | None
    preflight_ok: bool | None
    #: One ``(css class, mark, evidence)`` per check name asked for, in that order: ready to render, as
    #: the table has a thousand rows of them.
    check_cells: tuple[tuple[str, str, str], ...]
    last_date: date | None
    last_state: str | None
    open_alerts: int
    has_problem: bool
    #: The store's accounting system ("Fortnox", "Visma"), None before it has connected one.
    system: str | None = None

    @property
    def preflight_class(self) -> str:
        return "none" if self.preflight_ok is None else ("ok" if self.preflight_ok else "failed")


def _cells(checks: list[dict[str, Any]] | None, names: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    found = {check["name"]: check for check in checks or ()}
    cells = []
    for name in names:
        check = found.get(name)
        if check is None:
            cells.append(("none", "–", ""))
        else:
            cells.append(
                ("ok", "✓", check["evidence"]) if check["ok"] else ("failed", "✗", check["evidence"])
            )
    return tuple(cells)


SORT_KEYS = {
    "name": lambda row: row.name.lower(),
    "org_number": lambda row: row.org_number,
    "connection": lambda row: row.connection,
    "preflight": lambda row: (row.preflight_ok is not False, row.preflight_ok is None),
    "last_export": lambda row: row.last_date or date.min,
    "alerts": lambda row: row.open_alerts,
}


def agency_rows(
    session: Session,
    user: User,
    check_names: tuple[str, ...],
    sort: str = "name",
    descending: bool = False,
    text: str = "",
    problems_only: bool = False,
) -> list[AgencyRow]:
    """Every store the user may see, with its preflight, connection, last export and open alerts.

    Three statements whatever the number of stores (stores with their connection and preflight; the
    last export of each; open alerts counted), joined here by store id: one statement joining all of
    it let PostgreSQL, before it had statistics, plan the last-export window as a nested loop."""
    stores = visible_stores(user).subquery()
    store_ids = select(stores.c.id)
    ranked = (
        select(
            Export.store_id,
            Export.business_date,
            Export.state,
            func.row_number()
            .over(partition_by=Export.store_id, order_by=(Export.business_date.desc(), Export.id.desc()))
            .label("rank"),
        )
        .where(Export.store_id.in_(store_ids))
        .subquery()
    )
    last_exports = {
        r.store_id: (r.business_date, r.state)
        for r in session.execute(
            select(ranked.c.store_id, ranked.c.business_date, ranked.c.state).where(ranked.c.rank == 1)
        )
    }
    open_alerts = dict(
        session.execute(
            select(Alert.store_id, func.count())
            .where(Alert.resolved_at.is_(None), Alert.store_id.in_(store_ids))
            .group_by(Alert.store_id)
        ).all()
    )
    query = (
        select(
            stores.c.id,
            stores.c.name,
            stores.c.org_number,
            FortnoxConnection.status,
            FortnoxConnection.refresh_issued_at,
            FortnoxConnection.provider,
            PreflightResult.checked_at,
            PreflightResult.ok,
            PreflightResult.checks,
        )
        .select_from(stores)
        .outerjoin(FortnoxConnection, FortnoxConnection.store_id == stores.c.id)
        .outerjoin(PreflightResult, PreflightResult.store_id == stores.c.id)
    )
    now = utcnow()
    rows = []
    for r in session.execute(query):
        connection = connection_status(r.status, r.refresh_issued_at, now)
        last_date, last_state = last_exports.get(r.id, (None, None))
        alerts = open_alerts.get(r.id, 0)
        rows.append(
            AgencyRow(
                store_id=r.id,
                name=r.name,
                org_number=r.org_number,
                connection=connection,
                system=system_name(r.provider) if r.provider else None,
                checked_at=r.checked_at,
                preflight_ok=r.ok,
                check_cells=_cells(r.checks, check_names),
                last_date=last_date,
                last_state=last_state,
                open_alerts=alerts,
                has_problem=r.ok is False
                or connection != CONNECTED
                or last_state in PROBLEM_STATES
                or alerts > 0,
            )
        )
    # Filtered here, not in SQL: the statement stays the one the planner does well for every store.
    if text:
        needle = text.lower()
        rows = [row for row in rows if needle in row.name.lower() or needle in row.org_number]
    if problems_only:
        rows = [row for row in rows if row.has_problem]
    rows.sort(key=SORT_KEYS.get(sort, SORT_KEYS["name"]), reverse=descending)
    return rows


@dataclass(frozen=True)
class FirstRunStep:
    """One step of a new store's set-up, in the order a manager takes them."""

    label: str
    done: bool
    endpoint: str


def first_run_steps(session: Session, store: Store) -> list[FirstRunStep]:
    """Connect Fortnox (or Visma), choose the voucher series, map the accounts, enroll a register: what a new store
    still has to do, so its overview can say what comes next. Empty once everything is done."""
    from backoffice.models import MappingEntry, SyncSettings

    connection = store_connection(session, store)
    sync = session.get(SyncSettings, store.id)
    mapped = session.scalar(
        select(func.count()).select_from(MappingEntry).where(MappingEntry.store_id == store.id)
    )
    unmapped = session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.store_id == store.id, Alert.kind == "unmapped", Alert.resolved_at.is_(None))
    )
    enrolled = session.scalar(
        select(func.count())
        .select_from(Register)
        .where(Register.store_id == store.id, Register.revoked_at.is_(None))
    )
    steps = [
        FirstRunStep(
            "Connect Fortnox or Visma",
            connection is not None and connection.status == "connected",
            "stores.settings_page",
        ),
        FirstRunStep("Choose the voucher series", bool(sync and sync.voucher_series), "stores.settings_page"),
        FirstRunStep("Map the accounts", bool(mapped) and not unmapped, "stores.mapping_page"),
        FirstRunStep("Enroll the register", bool(enrolled), "stores.registers_page"),
    ]
    return [] if all(step.done for step in steps) else steps
