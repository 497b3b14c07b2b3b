"""Alerts: things a person should look at. One open alert per (store, kind, message)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import Alert


def raise_alert(session: Session, store_id: int, kind: str, message: str, fix: str = "") -> Alert:
    open_alert = session.scalars(
        select(Alert).where(
            Alert.store_id == store_id,
            Alert.kind == kind,
            Alert.message == message,
            Alert.resolved_at.is_(None),
        )
    ).first()
    if open_alert is not None:
        return open_alert
    alert = Alert(store_id=store_id, kind=kind, message=message, fix=fix)
    session.add(alert)
    return alert
