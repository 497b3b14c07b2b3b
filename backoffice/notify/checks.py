"""Scheduled checks that open and resolve alerts from the state of things: a Fortnox connection that
needs reconnecting, a refresh token about to die unrefreshed, a register gone silent, keys mapped since. Each is a plain
function of (sessions, now, ...) so a test calls it with the clock it wants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import sessionmaker

from backoffice.models import Alert, Export, FortnoxConnection, Register
from backoffice.services.alerts import open_alerts_of, raise_alert, resolve_alerts

UNMAPPED = "unmapped"
RECONNECT_NEEDED = "reconnect_needed"
TOKEN_EXPIRING = "token_expiring"
REGISTER_SILENT = "register_silent"
#: Fortnox refresh tokens die 45 days after they were issued.
REFRESH_TOKEN_LIFETIME = timedelta(days=45)
RECONNECT_FIX = "open the store and choose Reconnect Fortnox"


def check_connections(sessions: sessionmaker, now: datetime, warn_within: timedelta) -> None:
    """Alert a store whose Fortnox connection needs reconnecting, or whose refresh token dies within
    ``warn_within`` with no successful refresh since; resolve each once it no longer holds (a refresh
    moves ``refresh_issued_at``; a reconnect sets the status back to connected). A store disconnected on
    purpose keeps its reconnect alert while exports wait on it (the pipeline raises it)."""
    now = _utc(now)
    with sessions() as db:
        for row in db.scalars(select(FortnoxConnection)):
            reconnect = open_alerts_of(db, row.store_id, RECONNECT_NEEDED)
            if row.status == "reconnect_needed":
                if not reconnect:
                    raise_alert(
                        db,
                        row.store_id,
                        RECONNECT_NEEDED,
                        f"Fortnox needs to be connected again: {row.last_error or 'the authorisation ended'}",
                        RECONNECT_FIX,
                    )
            elif row.status == "connected":
                # Not on "disconnected": an export waiting on that raises the alert again at once.
                resolve_alerts(db, reconnect, now)
            expires = row.refresh_issued_at + REFRESH_TOKEN_LIFETIME if row.refresh_issued_at else None
            expiring = row.status == "connected" and expires is not None and expires - now <= warn_within
            message = f"the Fortnox authorisation expires {expires:%Y-%m-%d %H:%M} UTC" if expires else ""
            resolve_alerts(
                db,
                [
                    a
                    for a in open_alerts_of(db, row.store_id, TOKEN_EXPIRING)
                    if not expiring or a.message != message
                ],
                now,
            )
            if expiring:
                raise_alert(db, row.store_id, TOKEN_EXPIRING, message, RECONNECT_FIX)
        db.commit()


def check_silent_registers(sessions: sessionmaker, now: datetime, silent_after: timedelta) -> list[int]:
    """Alert every enrolled register not heard from for ``silent_after``; resolve the alert when it is
    heard from again (or revoked). Returns the silent registers' ids."""
    now = _utc(now)
    silent = []
    with sessions() as db:
        for register in db.scalars(select(Register)):
            prefix = f"register {register.register_key}: silent since "
            last = register.last_contact_at or register.enrolled_at
            is_silent = register.revoked_at is None and now - last > silent_after
            message = f"{prefix}{last:%Y-%m-%d %H:%M} UTC"
            resolve_alerts(
                db,
                [
                    alert
                    for alert in open_alerts_of(db, register.store_id, REGISTER_SILENT)
                    if alert.message.startswith(prefix) and (not is_silent or alert.message != message)
                ],
                now,
            )
            if is_silent:
                raise_alert(
                    db, register.store_id, REGISTER_SILENT, message, "check the register and its bridge"
                )
                silent.append(register.id)
        db.commit()
    return silent


def resolve_fixed_mappings(sessions: sessionmaker, now: datetime) -> int:
    """Resolve the "needs mapping" alerts of stores with no day waiting any more: the sweep readies a
    day once its keys are mapped, so none waiting means every key seen is mapped (or the day was dealt
    with by hand). Returns how many were resolved."""
    waiting = exists().where(Export.store_id == Alert.store_id, Export.state == "needs_attention")
    with sessions() as db:
        alerts = db.scalars(
            select(Alert).where(Alert.kind == UNMAPPED, Alert.resolved_at.is_(None), ~waiting)
        )
        resolved = resolve_alerts(db, alerts, _utc(now))
        db.commit()
    return resolved


def _utc(now: datetime) -> datetime:
    """The database keeps naive UTC."""
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
