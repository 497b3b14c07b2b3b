"""Alerts: things a person should look at. One open alert per (store, kind, message).

Opening and resolving go through here, because each also writes its notification event into the outbox
(:mod:`backoffice.notify.outbox`) in the same transaction: one alert opened is one "opened" mail, one
resolved is one "resolved" mail, however often the cause repeats meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from backoffice.models import Alert, utcnow
from backoffice.notify import outbox


def raise_alert(
    session: Session,
    store_id: int,
    kind: str,
    message: str,
    fix: str = "",
    *,
    day: date | None = None,
    path: str | None = None,
    detail: str | None = None,
) -> bool:
    """Open an alert unless the same one is open already (plain statements: the register API raises
    them on its hot path). ``day``, ``path`` (the page that fixes it) and ``detail`` (what happened this
    time) go into the notification only. Returns whether a new alert was opened."""
    already_open = session.scalar(
        select(Alert.id)
        .where(
            Alert.store_id == store_id,
            Alert.kind == kind,
            Alert.message == message,
            Alert.resolved_at.is_(None),
        )
        .limit(1)
    )
    if already_open is not None:
        return False
    row = {"store_id": store_id, "kind": kind, "message": message, "fix": fix}
    open_alerts(session.connection(), [row], day=day, path=path, detail=detail)
    return True


def open_alerts(
    connection: Connection,
    rows: list[dict[str, Any]],
    *,
    day: date | None = None,
    path: str | None = None,
    detail: str | None = None,
) -> None:
    """Insert alerts (``store_id``, ``kind``, ``message``, ``fix``) the caller knows are not open yet,
    with their "opened" events."""
    now = utcnow()
    table = Alert.__table__
    events = []
    for row in rows:
        alert_id = connection.execute(
            insert(table).returning(table.c.id), {**row, "created_at": now}
        ).scalar_one()
        message = f"{row['message']}: {detail}" if detail else row["message"]
        events.append(
            outbox.event_row(
                alert_id, row["store_id"], row["kind"], outbox.OPENED, message, row["fix"], now, day, path
            )
        )
    outbox.write(connection, events)


def resolve_alerts(
    session: Session, alerts: Iterable[Alert], now: datetime | None = None, path: str | None = None
) -> int:
    """Resolve open alerts, each with its "resolved" event. Returns how many."""
    now = now or utcnow()
    alerts = [alert for alert in alerts if alert.resolved_at is None]
    connection = session.connection()
    opened = outbox.opened_details(connection, [alert.id for alert in alerts])
    events = []
    for alert in alerts:
        alert.resolved_at = now
        day, opened_path = opened.get(alert.id, (None, None))
        events.append(
            outbox.event_row(
                alert.id,
                alert.store_id,
                alert.kind,
                outbox.RESOLVED,
                alert.message,
                alert.fix,
                now,
                day,
                path or opened_path,
            )
        )
    outbox.write(connection, events)
    return len(events)


def open_alerts_of(session: Session, store_id: int, kind: str) -> list[Alert]:
    """The store's open alerts of one kind."""
    return list(
        session.scalars(
            select(Alert).where(Alert.store_id == store_id, Alert.kind == kind, Alert.resolved_at.is_(None))
        )
    )
