"""Receiving a Z-report from a register (DESIGN.md section 2).

201 new, 200 the same report again, 409 the same Z number with other content (kept for review), 422
invalid with every problem (the body kept for review too). Nothing a register sends is dropped.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import (
    Alert,
    AuditEntry,
    Export,
    FortnoxConnection,
    RefusedReport,
    Register,
    Store,
    ZReportRecord,
    utcnow,
)
from backoffice.notify import refused as refused_alerts
from backoffice.pipeline.posting import posting_moment
from backoffice.services.alerts import open_alerts, raise_alert
from backoffice.services.exports import FORTNOX, build_options, waiting_state
from backoffice.services.mapping import mapping_keys, settings_of, store_mapping
from exporters.core import ZReport, build_voucher, parse_z_report
from exporters.core.errors import CannotBuildVoucher, FixData, Problem, ZReportInvalid

DB_INT_MAX = 2**31 - 1
MONEY_MAX = Decimal("999999999999.99")
IDEMPOTENCY_KEY_MAX = 200
CONTACT_RESOLUTION = timedelta(minutes=1)


@dataclass
class Outcome:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _problems_body(problems: list[Problem] | tuple[Problem, ...]) -> list[dict[str, str]]:
    return [{"field": p.field, "message": p.message, "fix": p.fix} for p in problems]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _decode(raw: bytes) -> Any:
    """The JSON body with numbers as Decimal, or ZReportInvalid naming the body."""
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ZReportInvalid(
            [
                Problem(
                    "body",
                    f"is not valid JSON: {exc}",
                    "send the Z-report as UTF-8 JSON (DESIGN.md section 2)",
                )
            ]
        ) from exc


def _org_digits(org_number: str) -> str:
    return org_number.replace("-", "")


def _check_against_store(
    report: ZReport, register: Register, store: Store, idempotency_key: str | None
) -> list[Problem]:
    problems = []
    if report.register.id != register.register_key:
        problems.append(
            Problem(
                "register.id",
                f"{report.register.id!r} is not the register this token was enrolled for ({register.register_key!r})",
                "send reports of each register with its own device token",
            )
        )
    if report.register.control_unit_id != register.control_unit_id:
        problems.append(
            Problem(
                "register.control_unit_id",
                f"{report.register.control_unit_id!r} is not the control unit enrolled"
                f" ({register.control_unit_id!r})",
                "enroll the register again if its control unit was replaced",
            )
        )
    if _org_digits(report.org_number) != _org_digits(store.org_number):
        problems.append(
            Problem(
                "org_number",
                f"{report.org_number} is not the store's organisation number ({store.org_number})",
                "set the store's organisation number in the register",
            )
        )
    if report.z_number > DB_INT_MAX:
        problems.append(
            Problem("z_number", f"{report.z_number} is too large", f"Z numbers go up to {DB_INT_MAX}")
        )
    for name, amount in (("sales", report.gross_sales), ("payments", report.total_payments)):
        if abs(amount) > MONEY_MAX:
            problems.append(
                Problem(name, f"the total {amount} is too large", f"a day's total is at most {MONEY_MAX}")
            )
    if idempotency_key and len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        problems.append(
            Problem(
                "Idempotency-Key",
                f"is longer than {IDEMPOTENCY_KEY_MAX} characters",
                "send <device>:z:<z_number>",
            )
        )
    elif idempotency_key:
        _, sep, number = idempotency_key.rpartition(":z:")
        if sep and number != str(report.z_number):
            problems.append(
                Problem(
                    "Idempotency-Key",
                    f"{idempotency_key!r} names Z {number}, the body is Z {report.z_number}",
                    "send <device>:z:<z_number> of this report",
                )
            )
    return problems


def _refuse(
    session: Session,
    register: Register,
    raw: bytes,
    reason: str,
    problems: list[dict[str, str]],
    **extra: Any,
) -> RefusedReport:
    """Keep what was refused, once per identical body (a bridge retries at least once)."""
    body_hash = hashlib.sha256(raw).hexdigest()
    refused = session.scalars(
        select(RefusedReport).where(
            RefusedReport.register_id == register.id, RefusedReport.body_hash == body_hash
        )
    ).first()
    if refused is None:
        refused = RefusedReport(
            store_id=register.store_id,
            register_id=register.id,
            reason=reason,
            # As received, but text: undecodable bytes and NUL (which PostgreSQL text cannot hold) become U+FFFD.
            raw_body=raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
            body_hash=body_hash,
            errors=problems,
            **extra,
        )
        session.add(refused)
        session.flush()
        raise_alert(
            session,
            register.store_id,
            refused_alerts.KINDS[reason],
            refused_alerts.alert_message(register.register_key, reason),
            "see Exports: refused reports; fix the register and send it again",
        )
        audit.record(session, register, f"z_report.refused_{reason}", register.store, errors=problems)
    return refused


@dataclass(frozen=True)
class Received:
    """A request body read and checked on its own, before any database work (so the write lock is
    held only for what needs it): the report, or every problem with it."""

    raw: bytes
    data: Any = None
    report: ZReport | None = None
    problems: tuple[Problem, ...] = ()
    content_hash: str = ""

    @property
    def z_number(self) -> int | None:
        """The Z number the body claims, even when invalid (for the review list)."""
        number = self.data.get("z_number") if isinstance(self.data, dict) else None
        return number if type(number) is int and 0 < number <= DB_INT_MAX else None


def read(raw: bytes) -> Received:
    """Decode and validate a Z-report body (pure: no database)."""
    data: Any = None
    try:
        data = _decode(raw)
        report = parse_z_report(data)
    except ZReportInvalid as exc:
        return Received(raw, data, problems=exc.problems)
    return Received(raw, data, report, content_hash=report.content_hash())


def _same_report(column: Any) -> Any:
    return (
        select(column)
        .where(
            ZReportRecord.register_id == bindparam("register_id"),
            ZReportRecord.z_number == bindparam("z_number"),
        )
        .scalar_subquery()
    )


#: Built once (the register API's hot path): the report stored under this Z number (its id and content
#: hash), the register's last Z number, each on the unique index, and the store's accounting system
#: (the export's channel), in one round trip.
_EXISTING = select(
    _same_report(ZReportRecord.id),
    _same_report(ZReportRecord.content_hash),
    select(func.max(ZReportRecord.z_number))
    .where(ZReportRecord.register_id == bindparam("register_id"))
    .scalar_subquery(),
    select(FortnoxConnection.provider)
    .where(FortnoxConnection.store_id == bindparam("store_id"))
    .scalar_subquery(),
)
_OPEN_ALERTS = select(Alert.kind, Alert.message).where(
    Alert.store_id == bindparam("store_id"),
    Alert.resolved_at.is_(None),
    Alert.kind.in_(bindparam("kinds", expanding=True)),
)
_INSERT_REPORT = insert(ZReportRecord.__table__).returning(ZReportRecord.__table__.c.id)
_INSERT_EXPORT = insert(Export.__table__)
_INSERT_AUDIT = insert(AuditEntry.__table__)
_TOUCH_REGISTER = (
    update(Register.__table__)
    .where(Register.__table__.c.id == bindparam("register_id"))
    .values(last_contact_at=bindparam("now"))
)


@dataclass
class Plan:
    """What storing a report will do, decided from reads alone (:func:`plan`); :func:`apply` writes it.

    The split lets a view end its read transaction before writing, so on SQLite the one-writer lock is
    held only for the inserts.
    """

    received: Received
    idempotency_key: str | None
    #: Decided without writing anything: the same report again.
    outcome: Outcome | None = None
    #: ``(reason, errors, extra columns)`` for a report to keep as refused.
    refusal: tuple[str, list[dict[str, str]], dict[str, Any]] | None = None
    alerts: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    voucher_error: FixData | None = None
    #: The export's channel: the accounting system the store books in (its connection's provider).
    channel: str = FORTNOX
    sync_sales: bool = True
    #: When the day becomes due for posting (the store's posting time the morning after).
    due_at: datetime | None = None


def plan(
    session: Session, register: Register, received: Received, idempotency_key: str | None = None
) -> Plan:
    """Decide what to do with a report (reads only)."""
    report = received.report
    problems = received.problems
    if report is not None:
        problems = tuple(_check_against_store(report, register, register.store, idempotency_key))
    if report is None or problems:
        refusal = ("invalid", _problems_body(problems), {"z_number": received.z_number})
        return Plan(received, idempotency_key, refusal=refusal)

    connection = session.connection()  # plain reads: the register API's hot path
    existing_id, existing_hash, last, channel = connection.execute(
        _EXISTING, {"register_id": register.id, "z_number": report.z_number, "store_id": register.store_id}
    ).one()
    if existing_id is not None:
        if existing_hash == received.content_hash:
            return Plan(
                received, idempotency_key, Outcome(200, {"id": existing_id, "z_number": report.z_number})
            )
        problem = Problem(
            "z_number",
            f"Z {report.z_number} of register {register.register_key} was already received with other content",
            "a Z number is sent once; the conflicting report is kept for review",
        )
        extra = {"z_number": report.z_number, "conflicts_with_id": existing_id}
        return Plan(received, idempotency_key, refusal=("conflict", _problems_body([problem]), extra))

    result = Plan(received, idempotency_key)
    if last is not None and report.z_number > last + 1:
        missing = f"{last + 1}" if report.z_number == last + 2 else f"{last + 1}-{report.z_number - 1}"
        message = f"register {register.register_key}: Z {missing} never arrived (got Z {report.z_number} after Z {last})"
        result.alerts.append(
            ("z_gap", message, "check the bridge at the store; the missing days are not booked")
        )
        result.warnings.append({"field": "z_number", "message": message, "fix": "send the missing Z-reports"})
    missing_items = report.missing_required_items()
    if missing_items:
        result.alerts.append(
            (
                "z_incomplete",
                f"register {register.register_key}: Z-reports lack items Skatteverket requires: {', '.join(missing_items)}",
                "update the register's Z-report (SKVFS 2014:9 7 kap. 3 §)",
            )
        )
        result.warnings += [
            {"field": item.split(" ")[0], "message": "missing (Skatteverket)", "fix": item}
            for item in missing_items
        ]
    # The register API's snapshot carries the settings (registers.device); a loaded register loads them.
    settings = register.store.settings or settings_of(session, register.store, create=False)
    result.sync_sales = settings.sync_sales
    result.channel = channel or FORTNOX
    result.due_at = posting_moment(report.business_date, settings.posting_time, register.store.timezone)
    try:
        build_voucher(report, store_mapping(session, register.store, settings), build_options(settings))
    except FixData as exc:
        result.voucher_error = exc
        if isinstance(exc, CannotBuildVoucher) and exc.unmapped:
            keys = ", ".join(p.key for p in exc.unmapped)
            result.alerts.append(
                ("unmapped", f"needs mapping: {keys}", "map them on the Account mapping page")
            )
    if result.alerts:  # only the ones not open already (read here, outside the write transaction)
        open_now = set(
            connection.execute(
                _OPEN_ALERTS, {"store_id": register.store_id, "kinds": [kind for kind, _, _ in result.alerts]}
            ).all()
        )
        result.alerts = [alert for alert in result.alerts if (alert[0], alert[1]) not in open_now]
    return result


def apply(session: Session, register: Register, decided: Plan) -> Outcome:
    """Write what :func:`plan` decided. A report stored meanwhile by another worker makes the insert
    fail on the (register, z_number) key: the caller rolls back and plans again."""
    now = utcnow()
    # Plain statements built once, on the connection, not through the ORM: the register API's hot path.
    connection = session.connection()
    # Last contact to the minute: not one UPDATE per report for a figure people read in minutes.
    if register.last_contact_at is None or now - register.last_contact_at > CONTACT_RESOLUTION:
        connection.execute(_TOUCH_REGISTER, {"register_id": register.id, "now": now})
    if decided.outcome is not None:
        return decided.outcome
    received = decided.received
    if decided.refusal is not None:
        reason, errors, extra = decided.refusal
        refused = _refuse(session, register, received.raw, reason, errors, **extra)
        if reason == "conflict":
            return Outcome(
                409, {"errors": errors, "id": extra["conflicts_with_id"], "refused_id": refused.id}
            )
        return Outcome(422, {"errors": errors, "refused_id": refused.id})

    report = received.report
    store = register.store
    if decided.alerts:  # with their notification events, in this transaction
        open_alerts(
            connection,
            [{"store_id": store.id, "kind": k, "message": m, "fix": f} for k, m, f in decided.alerts],
            day=report.business_date,
        )
    row = {
        "store_id": store.id,
        "register_id": register.id,
        "z_number": report.z_number,
        "business_date": report.business_date,
        "raw_json": received.raw.decode("utf-8"),
        "content_hash": received.content_hash,
        "idempotency_key": decided.idempotency_key,
        "gross_sales": report.gross_sales,
        "total_payments": report.total_payments,
        "missing_items": report.missing_required_items(),
        "mapping_keys": mapping_keys(report),
    }
    export = {
        "store_id": store.id,
        "business_date": report.business_date,
        "channel": decided.channel,
        **waiting_state(decided.voucher_error, decided.sync_sales, decided.due_at),
    }
    entry = audit.entry_values(
        register, "z_report.received", store, f"Z {report.z_number} {report.business_date}"
    )
    record_id = _insert_received(connection, row, export, entry)
    return Outcome(201, {"id": record_id, "z_number": report.z_number, "warnings": decided.warnings})


def _insert_received(
    connection: Connection, row: dict[str, Any], export: dict[str, Any], entry: dict[str, Any]
) -> int:
    """Insert the report, its export and its audit entry (``details`` naming both); returns the report's
    id. On PostgreSQL one statement (one round trip instead of three: on a busy machine each round trip
    waits for the database's process to be scheduled); elsewhere three."""
    entry = {name: value for name, value in entry.items() if name != "details"}
    if connection.dialect.name == "postgresql":
        # Every column's Python-side default filled in here: SQLAlchemy leaves them unset in a statement
        # made of several inserts.
        row = _with_defaults(ZReportRecord.__table__, row)
        export = _with_defaults(Export.__table__, export)
        entry = _with_defaults(AuditEntry.__table__, entry)
        statement = _received_statement(tuple(row), tuple(export), tuple(entry))
        params = {f"r_{k}": v for k, v in row.items()} | {f"e_{k}": v for k, v in export.items()}
        return connection.execute(statement, params | {f"a_{k}": v for k, v in entry.items()}).scalar_one()
    record_id = connection.execute(_INSERT_REPORT, row).scalar_one()
    connection.execute(_INSERT_EXPORT, {"z_report_id": record_id, **export})
    details = {"z_report_id": record_id, "export_state": export["state"]}
    connection.execute(_INSERT_AUDIT, {**entry, "details": details})
    return record_id


def _with_defaults(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    filled = dict(values)
    for column in table.columns:
        if column.name not in filled and column.default is not None:
            default = column.default
            filled[column.name] = default.arg(None) if default.is_callable else default.arg
    return filled


@functools.cache
def _received_statement(row: tuple[str, ...], export: tuple[str, ...], entry: tuple[str, ...]) -> Any:
    """PostgreSQL's ``WITH report AS (INSERT … RETURNING id), export AS (INSERT …) INSERT INTO audit_log
    … RETURNING`` for these columns (built once per set of column names)."""
    reports, exports, entries = ZReportRecord.__table__, Export.__table__, AuditEntry.__table__
    report = (
        insert(reports)
        .values({name: bindparam(f"r_{name}", type_=reports.c[name].type) for name in row})
        .returning(reports.c.id)
        .cte("report")
    )
    report_id = select(report.c.id).scalar_subquery()
    export_insert = (
        insert(exports)
        .values(
            {name: bindparam(f"e_{name}", type_=exports.c[name].type) for name in export}
            | {"z_report_id": report_id}
        )
        .cte("export")
    )
    details = func.json_build_object(
        "z_report_id", report_id, "export_state", bindparam("e_state", type_=exports.c.state.type)
    )
    return (
        insert(entries)
        .values(
            {name: bindparam(f"a_{name}", type_=entries.c[name].type) for name in entry}
            | {"details": details}
        )
        .add_cte(export_insert)
        .returning(report_id)
    )


def ingest(
    session: Session, register: Register, received: Received | bytes, idempotency_key: str | None = None
) -> Outcome:
    """Store one Z-report sent by ``register`` (the raw body, or already :func:`read`) in the caller's
    transaction; never commits."""
    if isinstance(received, bytes):
        received = read(received)
    return apply(session, register, plan(session, register, received, idempotency_key))
