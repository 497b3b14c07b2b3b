"""The scheduler's traces in the database: one heartbeat row, and one row per job with its last run.

One row each, updated in place: the sweep runs every minute and a row per run would grow without end.
Any machine reads them (``dagskassa doctor``, /metrics), whichever machine the scheduler leads on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import Base

#: The heartbeat row's name: one leader per deployment.
HEARTBEAT = "scheduler"


class SchedulerHeartbeat(Base):
    """Written every minute by the scheduler that leads; "alive" is a young ``beat_at``."""

    __tablename__ = "scheduler_heartbeats"
    #: Always :data:`HEARTBEAT`.
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: host:pid of the leader.
    holder: Mapped[str] = mapped_column(String(200))
    leader_since: Mapped[datetime]
    beat_at: Mapped[datetime]


class JobRun(Base):
    """A scheduled job's runs: counts, the last one's outcome, and when it last succeeded."""

    __tablename__ = "job_runs"
    job: Mapped[str] = mapped_column(String(60), primary_key=True)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    #: "ok" or "failed".
    last_outcome: Mapped[str | None] = mapped_column(String(10))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None]
