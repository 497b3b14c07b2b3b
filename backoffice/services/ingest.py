"""Receiving a Z-report from a register (DESIGN.md section 2).

201 new, 200 the same report again, 409 the same Z number with other content (kept for review), 422
invalid with every problem (the body kept for review too). Nothing a register sends is dropped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import Export, RefusedReport, Register, Store, ZReportRecord, utcnow
from backoffice.services.alerts import raise_alert
from backoffice.services.exports import FORTNOX, build_options, evaluate
from backoffice.services.mapping import mapping_keys, settings_of, store_mapping
from exporters.core import ZReport, build_voucher, parse_z_report
from exporters.core.errors import CannotBuildVoucher, FixData, Problem, ZReportInvalid

DB_INT_MAX = 2**31 - 1
MONEY_MAX = Decimal("999999999999.99")
IDEMPOTENCY_KEY_MAX = 200


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
            f"z_{reason}",
            f"register {register.register_key}: a Z-report was refused ({reason})",
            "see Exports: refused reports; fix the register and send it again",
        )
        audit.record(session, register, f"z_report.refused_{reason}", register.store, errors=problems)
    return refused


def ingest(session: Session, register: Register, raw: bytes, idempotency_key: str | None = None) -> Outcome:
    """Validate and store one Z-report sent by ``register``; never commits."""
    store = register.store
    register.last_contact_at = utcnow()
    data: Any = None
    try:
        data = _decode(raw)
        report = parse_z_report(data)
        sender_problems = _check_against_store(report, register, store, idempotency_key)
        if sender_problems:
            raise ZReportInvalid(sender_problems)
    except ZReportInvalid as exc:
        problems = _problems_body(exc.problems)
        z_number = data.get("z_number") if isinstance(data, dict) else None
        z_number = z_number if type(z_number) is int and 0 < z_number < 2**31 else None
        refused = _refuse(session, register, raw, "invalid", problems, z_number=z_number)
        return Outcome(422, {"errors": problems, "refused_id": refused.id})

    existing = session.scalars(
        select(ZReportRecord).where(
            ZReportRecord.register_id == register.id, ZReportRecord.z_number == report.z_number
        )
    ).one_or_none()
    content_hash = report.content_hash()
    if existing is not None:
        if existing.content_hash == content_hash:
            return Outcome(200, {"id": existing.id, "z_number": report.z_number})
        problem = Problem(
            "z_number",
            f"Z {report.z_number} of register {register.register_key} was already received with other content",
            "a Z number is sent once; the conflicting report is kept for review",
        )
        refused = _refuse(
            session,
            register,
            raw,
            "conflict",
            _problems_body([problem]),
            z_number=report.z_number,
            conflicts_with_id=existing.id,
        )
        return Outcome(
            409, {"errors": _problems_body([problem]), "id": existing.id, "refused_id": refused.id}
        )
    return _accept(session, register, store, report, raw, content_hash, idempotency_key)


def _accept(
    session: Session,
    register: Register,
    store: Store,
    report: ZReport,
    raw: bytes,
    content_hash: str,
    idempotency_key: str | None,
) -> Outcome:
    warnings: list[dict[str, str]] = []
    last = session.scalar(
        select(func.max(ZReportRecord.z_number)).where(ZReportRecord.register_id == register.id)
    )
    if last is not None and report.z_number > last + 1:
        missing = f"{last + 1}" if report.z_number == last + 2 else f"{last + 1}-{report.z_number - 1}"
        message = f"register {register.register_key}: Z {missing} never arrived (got Z {report.z_number} after Z {last})"
        raise_alert(
            session,
            store.id,
            "z_gap",
            message,
            "check the bridge at the store; the missing days are not booked",
        )
        warnings.append({"field": "z_number", "message": message, "fix": "send the missing Z-reports"})
    missing_items = report.missing_required_items()
    if missing_items:
        raise_alert(
            session,
            store.id,
            "z_incomplete",
            f"register {register.register_key}: Z-reports lack items Skatteverket requires: {', '.join(missing_items)}",
            "update the register's Z-report (SKVFS 2014:9 7 kap. 3 §)",
        )
        warnings += [
            {"field": item.split(" ")[0], "message": "missing (Skatteverket)", "fix": item}
            for item in missing_items
        ]

    record = ZReportRecord(
        store_id=store.id,
        register_id=register.id,
        z_number=report.z_number,
        business_date=report.business_date,
        raw_json=raw.decode("utf-8"),
        content_hash=content_hash,
        idempotency_key=idempotency_key,
        gross_sales=report.gross_sales,
        total_payments=report.total_payments,
        missing_items=missing_items,
        mapping_keys=mapping_keys(report),
    )
    session.add(record)
    session.flush()

    settings = settings_of(session, store)
    error: FixData | None = None
    try:
        build_voucher(report, store_mapping(session, store, settings), build_options(settings))
    except FixData as exc:
        error = exc
        if isinstance(exc, CannotBuildVoucher) and exc.unmapped:
            keys = ", ".join(p.key for p in exc.unmapped)
            raise_alert(
                session,
                store.id,
                "unmapped",
                f"needs mapping: {keys}",
                "map them on the Account mapping page",
            )
    export = Export(
        z_report_id=record.id, store_id=store.id, business_date=report.business_date, channel=FORTNOX
    )
    evaluate(export, error, settings.sync_sales)
    session.add(export)
    audit.record(
        session,
        register,
        "z_report.received",
        store,
        f"Z {report.z_number} {report.business_date}",
        z_report_id=record.id,
        export_state=export.state,
    )
    return Outcome(201, {"id": record.id, "z_number": report.z_number, "warnings": warnings})
