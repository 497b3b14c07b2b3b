"""One channel per day (DESIGN.md section 7, layer 1 of the double-import guard), kept by the database.

A store's business day reaches the books through one channel only: an accounting system's API
(``fortnox``, ``visma``) or a SIE file (``sie``). The first channel to claim a day holds it; the unique key
on (store, day) decides a race, on SQLite and PostgreSQL alike. The pipeline claims a day for its channel
in the transaction it commits before the first send; the SIE export claims its days for ``sie``; both are
refused (:class:`DaysClaimed`, listing every day and who holds it) when another channel got there first.

``SyncSettings.sync_from`` is the integration's start date: the first business day it may send
(:func:`check_sync_from`). Turning the sync on over days already exported as SIE asks for a start date
after them (``backoffice.services.sync_settings``).

Like every service, these take a session and never commit: the caller commits the claim.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from backoffice.db import Base
from backoffice.models import utcnow
from exporters.core.errors import FixData

FORTNOX, VISMA, SIE = "fortnox", "visma", "sie"


class DayClaim(Base):
    """Which channel a store's business day goes through; a row per claimed day."""

    __tablename__ = "day_claims"
    __table_args__ = (UniqueConstraint("store_id", "business_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    business_date: Mapped[date]
    #: ``fortnox``, ``visma`` (an API) or ``sie`` (a SIE file).
    channel: Mapped[str] = mapped_column(String(20))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What claimed it, e.g. ``export 42`` or ``SIE file by anna@example.se``.
    detail: Mapped[str | None] = mapped_column(Text)


class DaysClaimed(FixData):
    """Days another channel already holds. ``.days`` maps each such day to its channel."""

    def __init__(self, channel: str, days: dict[date, str]) -> None:
        self.channel = channel
        self.days = dict(sorted(days.items()))
        listed = ", ".join(f"{day.isoformat()} ({held})" for day, held in self.days.items())
        last = max(self.days)
        if channel == SIE:
            fix = (
                f"leave these days out of the SIE file: they were posted through the API; choose days "
                f"after {last.isoformat()}, or days the API has not posted"
            )
        else:
            fix = (
                f"set the integration's start date after {last.isoformat()} (the days before it were "
                f"booked another way), or, if those days are not in the books, ask support to release them"
            )
        super().__init__(
            f"these days already go to the books through another channel, so {channel} may not book "
            f"them: {listed}",
            fix,
        )


class BeforeSyncStart(FixData):
    """A day before the integration's start date (``SyncSettings.sync_from``)."""

    def __init__(self, days: Iterable[date], sync_from: date) -> None:
        self.days = tuple(sorted(set(days)))
        self.sync_from = sync_from
        listed = ", ".join(day.isoformat() for day in self.days)
        super().__init__(
            f"these days are before the integration's start date {sync_from.isoformat()}: {listed}",
            "book them another way (e.g. a SIE file), or move the start date (sync_from) in the "
            "integration settings to the first day the integration should send",
        )


def claimed_days(
    session: Session, store_id: int, start: date | None = None, end: date | None = None
) -> dict[date, str]:
    """The store's claimed days from ``start`` to ``end`` (both included; None is open) and their
    channels."""
    query = select(DayClaim.business_date, DayClaim.channel).where(DayClaim.store_id == store_id)
    if start is not None:
        query = query.where(DayClaim.business_date >= start)
    if end is not None:
        query = query.where(DayClaim.business_date <= end)
    return dict(session.execute(query.order_by(DayClaim.business_date)).all())


def channel_of(session: Session, store_id: int, day: date) -> str | None:
    """The channel holding the store's ``day``, or None."""
    return session.scalar(
        select(DayClaim.channel).where(DayClaim.store_id == store_id, DayClaim.business_date == day)
    )


def last_claimed_day(session: Session, store_id: int, channel: str) -> date | None:
    """The latest day ``channel`` holds for the store (e.g. the last day exported as SIE)."""
    return session.scalar(
        select(DayClaim.business_date)
        .where(DayClaim.store_id == store_id, DayClaim.channel == channel)
        .order_by(DayClaim.business_date.desc())
        .limit(1)
    )


def _held(session: Session, store_id: int, days: list[date]) -> dict[date, str]:
    query = select(DayClaim.business_date, DayClaim.channel).where(
        DayClaim.store_id == store_id, DayClaim.business_date.in_(days)
    )
    return dict(session.execute(query).all())


def _refuse_others(channel: str, held: dict[date, str]) -> None:
    others = {day: holder for day, holder in held.items() if holder != channel}
    if others:
        raise DaysClaimed(channel, others)


def claim_days(
    session: Session, store_id: int, days: Iterable[date], channel: str, detail: str | None = None
) -> None:
    """Claim ``days`` of the store for ``channel``: all of them or none.

    Claiming a day the channel already holds is a no-op. Raises :class:`DaysClaimed` listing every day
    another channel holds. Race-safe: the rows are inserted with the unique key as the arbiter (a
    concurrent claim of the same day waits for the other transaction on PostgreSQL; SQLite has one writer
    at a time) and read back, so of two channels claiming one day exactly one wins. Not committed here.
    """
    wanted = sorted(set(days))
    if not wanted:
        return
    held = _held(session, store_id, wanted)
    _refuse_others(channel, held)
    missing = [day for day in wanted if day not in held]
    if missing:
        _insert_missing(session, store_id, missing, channel, detail)
        _refuse_others(channel, _held(session, store_id, wanted))


def _insert_missing(
    session: Session, store_id: int, days: list[date], channel: str, detail: str | None
) -> None:
    rows = [
        {
            "store_id": store_id,
            "business_date": day,
            "channel": channel,
            "claimed_at": utcnow(),
            "detail": detail,
        }
        for day in days
    ]
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(DayClaim).on_conflict_do_nothing(index_elements=["store_id", "business_date"])
        session.execute(statement, rows)
        return
    for row in rows:  # other databases: one savepoint per day, a duplicate key is someone else's claim
        try:
            with session.begin_nested():
                session.execute(DayClaim.__table__.insert(), row)
        except IntegrityError:
            pass


def check_sync_from(sync_from: date | None, days: Iterable[date]) -> None:
    """Refuse days before the integration's start date (None: no start date, every day may go)."""
    if sync_from is None:
        return
    early = [day for day in days if day < sync_from]
    if early:
        raise BeforeSyncStart(early, sync_from)


def claim_for_api(
    session: Session,
    store_id: int,
    day: date,
    channel: str,
    sync_from: date | None,
    detail: str | None = None,
) -> None:
    """The pipeline's gate before the first send of a day through an API: a day the channel already holds
    goes (a retry, a correction); otherwise it must not be before ``sync_from`` and is claimed."""
    if channel_of(session, store_id, day) == channel:
        return
    check_sync_from(sync_from, [day])
    claim_days(session, store_id, [day], channel, detail)


def first_free_day(session: Session, store_id: int, channel: str = SIE) -> date | None:
    """The day after the last one ``channel`` holds (the earliest start date the API may have), or None."""
    last = last_claimed_day(session, store_id, channel)
    return None if last is None else last + timedelta(days=1)
