"""The scheduler's jobs (APScheduler): the due-export sweep, the nightly "no Z-report" check per store at
its local time, the daily preflight, and the token keep-alive.

Each job is a plain function of (sessions, now) so a test calls it directly with the clock it wants;
:func:`build_scheduler` only wires them to APScheduler. One scheduler runs per deployment: on PostgreSQL
it holds an advisory lock for as long as it lives (:func:`hold_leadership`), and a second one waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, exists, select, text
from sqlalchemy.orm import sessionmaker

from backoffice.models import Alert, FortnoxConnection, Register, Store
from backoffice.services.alerts import raise_alert, resolve_alerts
from backoffice.services.overview import yesterday_missing

log = logging.getLogger(__name__)

NO_Z_REPORT = "no_z_report"
#: The advisory lock key of the scheduler's leadership (any constant shared by every process).
LEADER_LOCK = 0x64_6B_73_63  # "dksc"


def check_missing_z_reports(sessions: sessionmaker, now: datetime, check_at: time) -> list[tuple[int, date]]:
    """Alert every store with registers that has no Z-report for its previous day, once its local clock
    has passed ``check_at``; resolve the alert when the report arrives. Returns the (store, day) alerted.

    ``now`` is aware (UTC). Each store is judged on its own local date (:func:`yesterday_missing`, the
    same rule the store's page shows), so a store in another time zone is not alerted before its morning.
    """
    alerted = []
    with sessions() as db:
        stores = db.scalars(select(Store).where(exists().where(Register.store_id == Store.id))).all()
        for store in stores:
            local = now.astimezone(ZoneInfo(store.timezone))
            day = local.date() - timedelta(days=1)
            message = f"No Z-report received for {day.isoformat()}"
            if yesterday_missing(db, store, now.astimezone(UTC).replace(tzinfo=None)) is None:
                resolve_alerts(
                    db,
                    db.scalars(
                        select(Alert).where(
                            Alert.store_id == store.id,
                            Alert.kind == NO_Z_REPORT,
                            Alert.message == message,
                            Alert.resolved_at.is_(None),
                        )
                    ),
                    now.astimezone(UTC).replace(tzinfo=None),
                )
            elif local.time() >= check_at:
                raise_alert(
                    db,
                    store.id,
                    NO_Z_REPORT,
                    message,
                    "check that the register closed the day and that its bridge is online (Registers page)",
                    day=day,
                )
                alerted.append((store.id, day))
        db.commit()
    return alerted


def connections_needing_keepalive(sessions: sessionmaker, now: datetime, older_than: timedelta) -> list[int]:
    """Fortnox connections whose refresh token was issued more than ``older_than`` ago (Fortnox kills it
    at 45 days): the keep-alive job refreshes them well before. Visma's last far longer (years)."""
    cutoff = now.replace(tzinfo=None) - older_than
    with sessions() as db:
        return list(
            db.scalars(
                select(FortnoxConnection.id).where(
                    FortnoxConnection.provider == "fortnox",
                    FortnoxConnection.status == "connected",
                    FortnoxConnection.refresh_issued_at < cutoff,
                )
            )
        )


def hold_leadership(engine: Engine) -> Callable[[], None] | None:
    """Become the deployment's one scheduler. Returns a release function, or None if another holds it.

    PostgreSQL: a session-level advisory lock on a connection kept open for the scheduler's life.
    SQLite: one machine, one process; always the leader.
    """
    if engine.dialect.name != "postgresql":
        return lambda: None
    connection = engine.connect()
    got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}).scalar()
    if not got:
        connection.close()
        return None

    def release() -> None:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK})
        connection.close()

    return release


def build_scheduler(jobs: dict[str, tuple[Callable[[], object], dict]], timezone: str) -> BackgroundScheduler:
    """An APScheduler with each job under its name; ``jobs`` maps name -> (function, trigger arguments)."""
    scheduler = BackgroundScheduler(timezone=ZoneInfo(timezone))
    for name, (function, trigger) in jobs.items():
        scheduler.add_job(
            function,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=300,
            replace_existing=True,
            **trigger,
        )
    return scheduler
