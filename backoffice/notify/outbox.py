"""Writing notification events into the outbox, inside the caller's transaction.

:mod:`backoffice.services.alerts` calls these when it opens or resolves an alert, so an alert and its
event commit (or roll back) together; the dispatcher sends them later, outside any export.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import postgresql, sqlite

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
    """Insert the events (plain statements: this runs on the register API's hot path too). An event the
    alert has already (two transactions resolving the same alert at once) is left out, not an error."""
    rows = list(rows)
    if rows:
        connection.execute(_insert_new(connection.dialect.name), rows)


def _insert_new(dialect: str) -> Any:
    table = NotificationEvent.__table__
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["alert_id", "event"])
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["alert_id", "event"])
    return insert(table)


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
