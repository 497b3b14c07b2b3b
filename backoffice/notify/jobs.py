"""The notification jobs the scheduler runs (wired in backoffice.pipeline.service): the checks that open
and resolve alerts, the dispatcher, and the daily digest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import sessionmaker

from backoffice.notify import checks, refused
from backoffice.notify.dispatch import Dispatcher
from config.settings import Settings


def run_checks(settings: Settings, sessions: sessionmaker, now: datetime | None = None) -> None:
    """Connections to reconnect, refresh tokens about to die unrefreshed, registers gone silent,
    "needs mapping" alerts whose days are no longer waiting, and refused Z-reports that a later accepted
    one took the place of."""
    now = now or datetime.now(UTC)
    notify = settings.notify
    checks.check_connections(sessions, now, timedelta(days=notify.token_warning_days))
    checks.check_silent_registers(sessions, now, timedelta(hours=notify.register_silent_hours))
    checks.resolve_fixed_mappings(sessions, now)
    refused.settle(sessions, now)


def scheduled(
    settings: Settings, sessions: sessionmaker, dispatcher: Dispatcher
) -> dict[str, tuple[Callable[[], object], dict]]:
    """The jobs under their names, with their triggers (for ``jobs.build_scheduler``)."""
    hours, minutes = settings.notify.digest_at.split(":")
    digest_at = time(int(hours), int(minutes))
    return {
        "notify_checks": (lambda: run_checks(settings, sessions), {"trigger": "interval", "minutes": 15}),
        "notify_dispatch": (
            dispatcher.run,
            {"trigger": "interval", "seconds": settings.notify.dispatch_seconds},
        ),
        "notify_digest": (
            dispatcher.send_digests,
            {"trigger": "cron", "hour": digest_at.hour, "minute": digest_at.minute},
        ),
    }
