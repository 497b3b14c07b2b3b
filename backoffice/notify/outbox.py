"""Writing notification events into the outbox, inside the caller's transaction.

:mod:`backoffice.services.alerts` calls these when it opens or resolves an alert, so an alert and its
event commit (or roll back) together; the dispatcher sends them later, outside any export.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from backoffice.notify.models import OPENED, RESOLVED, NotificationEvent
from backoffice.notify.texts import page_path

__all__ = ["OPENED", "RESOLVED", "EventRow", "event_row", "opened_details", "write"]

EventRow = dict[str, Any]


def event_row(
    alert_id: int,
    store_id: int,
    kind: str,
    event: str,
    message: str,
    fix: str,
    now: datetime,
    day: date | None = None,
    path: str | None = None,
) -> EventRow:
    """One outbox row; ``path`` defaults to the page that fixes this kind of alert."""
    return {
        "alert_id": alert_id,
        "store_id": store_id,
        "kind": kind,
        "event": event,
        "message": message,
        "fix": fix or "",
        "day": day,
        "path": path or page_path(kind, store_id),
        "created_at": now,
    }


def write(connection: Connection, rows: Iterable[EventRow]) -> None:
    """Insert the events (plain statements: this runs on the register API's hot path too)."""
    rows = list(rows)
    if rows:
        connection.execute(insert(NotificationEvent.__table__), rows)


def opened_details(connection: Connection, alert_ids: list[int]) -> dict[int, tuple[date | None, str]]:
    """The day and page of each alert's "opened" event, so its "resolved" event names the same."""
    if not alert_ids:
        return {}
    table = NotificationEvent.__table__
    rows = connection.execute(
        select(table.c.alert_id, table.c.day, table.c.path).where(
            table.c.alert_id.in_(alert_ids), table.c.event == OPENED
        )
    )
    return {alert_id: (day, path) for alert_id, day, path in rows}
