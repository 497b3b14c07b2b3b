"""Alerts for exports that wait for a person: rejected, needing attention, held as a duplicate.

:func:`backoffice.pipeline.states.move` calls :func:`export_moved` on every move, so each of these
alerts opens when a day enters the state and resolves when the day is posted (or handed to a SIE file). A day retried fifty times
and refused fifty times keeps one alert open: one mail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import Alert, Export
from backoffice.services.alerts import open_alerts_of, raise_alert, resolve_alerts

#: Export state -> alert kind (the states are backoffice.pipeline.states'; named here to keep this module
#: free of the pipeline, which imports it).
KINDS = {
    "rejected": "export_rejected",
    "needs_attention": "export_needs_attention",
    "held_duplicate": "export_held_duplicate",
}
#: States that end the day's wait for a person: posted, or to be booked through a SIE file instead.
DONE = ("posted", "sie_instead")
LABELS = {
    "export_rejected": "refused",
    "export_needs_attention": "needs attention",
    "export_held_duplicate": "held as a possible duplicate",
}


def alert_message(export: Export, kind: str) -> str:
    """The alert's text: the same for every attempt at the same day, so a retry finds it open."""
    record = export.z_report
    return (
        f"{export.channel} {export.business_date.isoformat()} Z {record.z_number} "
        f"({record.register.register_key}): {LABELS[kind]}"
    )


def export_path(export: Export) -> str:
    return f"/stores/{export.store_id}/exports/{export.z_report_id}"


def export_moved(session: Session, export: Export, state: str, now: datetime) -> None:
    """Open or resolve the export's alert after a move to ``state`` (in the move's transaction)."""
    if state not in KINDS and state not in DONE:
        return
    current = KINDS.get(state)
    # One indexed query (the store's open alerts) before anything is loaded: most moves find none.
    open_now = session.scalars(
        select(Alert).where(
            Alert.store_id == export.store_id,
            Alert.resolved_at.is_(None),
            Alert.kind.in_(KINDS.values()),
        )
    ).all()
    if current is None and not open_now:
        return
    mine = {alert_message(export, kind) for kind in KINDS.values()}
    stale = [alert for alert in open_now if alert.message in mine and alert.kind != current]
    resolve_alerts(session, stale, now.replace(tzinfo=None), export_path(export))
    if current is None:
        return
    if current == "export_needs_attention" and open_alerts_of(session, export.store_id, "reconnect_needed"):
        return  # the store's reconnect alert says it once for every day waiting on it
    raise_alert(
        session,
        export.store_id,
        current,
        alert_message(export, current),
        export.error_fix or "",
        day=export.business_date,
        path=export_path(export),
        detail=export.error_message,
    )
