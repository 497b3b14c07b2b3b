"""Alerts: things a person should look at. One open alert per (store, kind, message)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backoffice.models import Alert


def raise_alert(session: Session, store_id: int, kind: str, message: str, fix: str = "") -> None:
    """Open an alert unless the same one is open already (plain statements: the register API raises
    them on its hot path)."""
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
    if already_open is None:
        session.execute(insert(Alert), {"store_id": store_id, "kind": kind, "message": message, "fix": fix})
