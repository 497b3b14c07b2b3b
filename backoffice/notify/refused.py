"""The alerts of refused Z-reports: a register's report the API refused (422 invalid, 409 conflict) is kept
for review and opens one alert per register and reason (``backoffice.services.ingest``). The alert
resolves, with its one "resolved" event, once no refused report of that register and reason waits for
review. A refused report stops waiting when

- it is settled: the register later had a report accepted that takes its place — the same Z number, for
  an invalid report that names one; the same business day, for a conflict (that Z number is taken, so the
  day must come under another) or for an invalid report that names a day but no Z number;
- or a person dismisses it on the exports page (audited).

A body that names neither waits for a person. Settling runs with the scheduler's notification checks
(:func:`settle`), off the register API's hot path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backoffice import audit
from backoffice.models import RefusedReport, Register, Store, User, ZReportRecord, utcnow
from backoffice.services.alerts import open_alerts_of, resolve_alerts

KINDS = {"invalid": "z_invalid", "conflict": "z_conflict"}


def alert_message(register_key: str, reason: str) -> str:
    """The refusal alert's text, as ``backoffice.services.ingest`` opens it (one per register and reason)."""
    return f"register {register_key}: a Z-report was refused ({reason})"


def named_day(refused: RefusedReport) -> date | None:
    """The business day the refused body names, if it names one readably."""
    try:
        data = json.loads(refused.raw_body)
        return date.fromisoformat(data["business_date"])
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


def taking_its_place(session: Session, refused: RefusedReport) -> ZReportRecord | None:
    """The accepted report of the same register that settles ``refused``, or None."""
    query = select(ZReportRecord).where(ZReportRecord.register_id == refused.register_id)
    if refused.reason == "invalid" and refused.z_number is not None:
        query = query.where(ZReportRecord.z_number == refused.z_number)
    else:
        day = named_day(refused)
        if day is None:
            return None
        query = query.where(
            ZReportRecord.business_date == day,
            ZReportRecord.received_at > refused.received_at,
        )
        if refused.conflicts_with_id is not None:
            query = query.where(ZReportRecord.id != refused.conflicts_with_id)
    return session.scalars(query.order_by(ZReportRecord.id).limit(1)).first()


def settle(sessions: sessionmaker, now: datetime) -> int:
    """Settle every refused report waiting for review that an accepted report took the place of, and
    resolve the alerts left with nothing to review. Returns how many reports were settled."""
    now = now.replace(tzinfo=None)
    with sessions() as db:
        settled = []
        for refused in db.scalars(select(RefusedReport).where(RefusedReport.reviewed_at.is_(None))):
            record = taking_its_place(db, refused)
            if record is None:
                continue
            refused.reviewed_at, refused.settled_by_id = now, record.id
            audit.record(
                db,
                None,
                "z_report.refused_settled",
                db.get(Store, refused.store_id),
                _subject(refused),
                refused_id=refused.id,
                settled_by=record.id,
                settled_by_z=record.z_number,
            )
            settled.append(refused)
        db.flush()
        _resolve_reviewed(db, settled, now)
        db.commit()
    return len(settled)


def dismiss(session: Session, store: Store, user: User, refused: RefusedReport) -> bool:
    """A person has looked at the refused report: it waits no more, and its alert resolves once nothing
    else of that register and reason waits. Returns False if it was not waiting. Not committed here."""
    if refused.reviewed_at is not None:
        return False
    now = utcnow()
    refused.reviewed_at, refused.reviewed_by = now, user.email
    audit.record(session, user, "z_report.refused_dismissed", store, _subject(refused), refused_id=refused.id)
    session.flush()
    _resolve_reviewed(session, [refused], now)
    return True


def _subject(refused: RefusedReport) -> str:
    number = f"Z {refused.z_number} " if refused.z_number is not None else ""
    return f"{number}{refused.reason}, received {refused.received_at:%Y-%m-%d %H:%M}"


def _resolve_reviewed(session: Session, reviewed: Iterable[RefusedReport], now: datetime) -> None:
    """Resolve the alert of each register and reason among ``reviewed`` that has nothing left waiting."""
    for store_id, register_id, reason in {(r.store_id, r.register_id, r.reason) for r in reviewed}:
        waiting = session.scalar(
            select(RefusedReport.id)
            .where(
                RefusedReport.register_id == register_id,
                RefusedReport.reason == reason,
                RefusedReport.reviewed_at.is_(None),
            )
            .limit(1)
        )
        if waiting is not None or reason not in KINDS:
            continue
        message = alert_message(session.get(Register, register_id).register_key, reason)
        alerts = [a for a in open_alerts_of(session, store_id, KINDS[reason]) if a.message == message]
        resolve_alerts(session, alerts, now)
