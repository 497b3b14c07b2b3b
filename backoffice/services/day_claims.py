"""One channel per day (DESIGN.md section 7, layer 1 of the double-import guard), kept by the database.

A store's business day reaches the books through one channel only: an accounting system's API
(``fortnox``, ``visma``), a SIE file (``sie``), or by hand outside Dagskassa (``manual``: the manager marked
the day as already booked). The first channel to claim a day holds it; the unique key on (store, day)
decides a race, on SQLite and PostgreSQL alike. The pipeline claims a day for its channel in the
transaction it commits before the first send; the SIE export claims its days for ``sie``; "mark as already
booked" claims the day for ``manual``; each is refused (:class:`DaysClaimed`, listing every day and who
holds it, for a day booked by hand who marked it and when) when another channel got there first.
A day the API claimed but never booked may be released to go as a SIE file instead
(``backoffice.services.sie_instead``).

``SyncSettings.sync_from`` is the integration's start date: the first business day it may send
(:func:`check_sync_from`). Turning the sync on over days already exported as SIE asks for a start date
after them (``backoffice.services.sync_settings``).

Like every service, these take a session and never commit: the caller commits the claim.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from backoffice.db import Base
from backoffice.models import utcnow
from exporters.core.errors import FixData

FORTNOX, VISMA, SIE, MANUAL = "fortnox", "visma", "sie", "manual"
#: How a message names each channel's hold on a day.
HOLDERS = {FORTNOX: "Fortnox", VISMA: "Visma", SIE: "a SIE file", MANUAL: "booked by hand"}


class DayClaim(Base):
    """Which channel a store's business day goes through; a row per claimed day."""

    __tablename__ = "day_claims"
    __table_args__ = (UniqueConstraint("store_id", "business_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    business_date: Mapped[date]
    #: ``fortnox``, ``visma`` (an API), ``sie`` (a SIE file) or ``manual`` (booked by hand).
    channel: Mapped[str] = mapped_column(String(20))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What claimed it, e.g. ``export 42``, ``SIE file by anna@example.se`` or ``marked as booked by
    #: anna@example.se``.
    detail: Mapped[str | None] = mapped_column(Text)


def describe(channel: str, detail: str | None, claimed_at: datetime | None) -> str:
    """How a message names one day's claim: the channel, and for a day booked by hand who said so and
    when (``marked as booked by anna@example.se on 2026-03-15 10:12 UTC``)."""
    if channel != MANUAL:
        return channel
    when = f" on {claimed_at:%Y-%m-%d %H:%M} UTC" if claimed_at else ""
    return f"{detail or 'marked as booked by hand'}{when}"


class DaysClaimed(FixData):
    """Days another channel already holds. ``.days`` maps each such day to its channel; ``described``
    (optional) to how the message names the claim (:func:`describe`)."""

    def __init__(self, channel: str, days: dict[date, str], described: dict[date, str] | None = None) -> None:
        self.channel = channel
        self.days = dict(sorted(days.items()))
        described = described or {}
        listed = ", ".join(
            f"{day.isoformat()} ({described.get(day, held)})" for day, held in self.days.items()
        )
        last = max(self.days)
        by_hand = all(held == MANUAL for held in self.days.values())
        if by_hand and channel == SIE:
            fix = "leave these days out of the SIE file: they are in the books already, booked by hand"
        elif by_hand:
            fix = (
                "nothing to send: the day is in the books already, booked by hand; if it is not, ask "
                "support to release the day"
            )
        elif channel == SIE:
            fix = (
                f"leave these days out of the SIE file: they were posted through the API or booked by "
                f"hand; choose days after {last.isoformat()}, or days the API has not posted"
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


def claims_of(session: Session, store_id: int, channel: str, limit: int = 20) -> list[DayClaim]:
    """The store's latest ``limit`` days ``channel`` holds, newest first (e.g. the days booked by hand)."""
    return list(
        session.scalars(
            select(DayClaim)
            .where(DayClaim.store_id == store_id, DayClaim.channel == channel)
            .order_by(DayClaim.business_date.desc())
            .limit(limit)
        )
    )


def last_claimed_day(session: Session, store_id: int, channel: str) -> date | None:
    """The latest day ``channel`` holds for the store (e.g. the last day exported as SIE)."""
    return session.scalar(
        select(DayClaim.business_date)
        .where(DayClaim.store_id == store_id, DayClaim.channel == channel)
        .order_by(DayClaim.business_date.desc())
        .limit(1)
    )


def claim_of(session: Session, store_id: int, day: date) -> DayClaim | None:
    """The claim on the store's ``day``, or None."""
    return session.scalars(
        select(DayClaim).where(DayClaim.store_id == store_id, DayClaim.business_date == day)
    ).one_or_none()


def _held(session: Session, store_id: int, days: list[date]) -> dict[date, tuple[str, str]]:
    """Each claimed day of ``days``: its channel and how a message names the claim."""
    query = select(DayClaim.business_date, DayClaim.channel, DayClaim.detail, DayClaim.claimed_at).where(
        DayClaim.store_id == store_id, DayClaim.business_date.in_(days)
    )
    return {
        day: (channel, describe(channel, detail, claimed_at))
        for day, channel, detail, claimed_at in session.execute(query)
    }


def _refuse_others(channel: str, held: dict[date, tuple[str, str]]) -> None:
    others = {day: claim for day, claim in held.items() if claim[0] != channel}
    if others:
        raise DaysClaimed(
            channel,
            {day: holder for day, (holder, _) in others.items()},
            {day: text for day, (_, text) in others.items()},
        )


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


def claim_booked_by_hand(session: Session, store_id: int, day: date, actor: str) -> DayClaim:
    """The manager says the day is in the books already, booked outside Dagskassa: claim it for
    ``manual`` unless a channel holds it already (an API that claimed it before its first send, or a SIE
    file, keeps its claim). Returns the claim that holds the day. Not committed here."""
    held = claim_of(session, store_id, day)
    if held is None:
        with contextlib.suppress(DaysClaimed):  # another channel claimed it meanwhile: it keeps the day
            claim_days(session, store_id, [day], MANUAL, f"marked as booked by {actor}")
        held = claim_of(session, store_id, day)
    return held


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
