"""One accounting system per store at a time, and switching from one to the other.

A store books through the system its connection names (``FortnoxConnection.provider``: ``fortnox`` or
``visma``). Connecting the other while one is connected is refused: disconnect first. Switching is
disconnect, then connect the other with a start date, which must come after every day the old system
booked or holds (its exports sent, its day claims). Once connected:

- the start date becomes the integration's ``sync_from``: the pipeline sends no day before it, and a day
  the old system holds is never claimed by the new one (``backoffice.services.day_claims``, a unique key);
- the old system's days from the start date on that were not sent yet move to the new system's channel;
  the days before it stay where they are;
- the account mapping is carried over where its accounts exist in the new chart; the rest show as
  "needs mapping" on the mapping page (:func:`backoffice.services.mapping.mapping_rows`);
- a voucher series or cost center the new system lacks is cleared, to be chosen again.

Like every service these take a session and never commit; nothing here calls the accounting system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import (
    Export,
    FortnoxAccount,
    FortnoxConnection,
    FortnoxCostCenter,
    FortnoxVoucherSeries,
    MappingEntry,
    Store,
    User,
)
from backoffice.pipeline import states
from backoffice.services.day_claims import last_claimed_day
from backoffice.services.mapping import settings_of
from exporters.core.errors import FixData

#: Short names for messages (the providers' verbose names are long: "Visma eEkonomi (Bokföring …)").
NAMES = {"fortnox": "Fortnox", "visma": "Visma"}
#: An export in these states may be in the old system's books already: its day stays there.
BOOKED = (states.POSTING, states.POSTED, states.UNCERTAIN)
#: Not sent (or refused): the day goes to the new system if it is on or after the start date.
UNSENT = (
    states.RECEIVED,
    states.READY,
    states.NEEDS_ATTENTION,
    states.REJECTED,
    states.RETRY_WAIT,
    states.HELD_DUPLICATE,
)
#: Unsent days whose last answer came from the old system; they wait for the new one instead.
AFRESH = (states.REJECTED, states.RETRY_WAIT, states.HELD_DUPLICATE)


def name(provider: str) -> str:
    return NAMES.get(provider, provider)


class ConnectRefused(FixData):
    """Connecting a system the store may not connect now; the fix says what to do first. ``text`` and
    ``fix_text`` are the English texts with ``{name}`` placeholders, so a page can show them translated
    (``backoffice.i18n``)."""

    def __init__(self, text: str, fix_text: str, **values: str) -> None:
        self.text, self.fix_text, self.values = text, fix_text, values
        super().__init__(text.format(**values), fix_text.format(**values))


def connection_of(session: Session, store_id: int) -> FortnoxConnection | None:
    return session.scalars(
        select(FortnoxConnection).where(FortnoxConnection.store_id == store_id)
    ).one_or_none()


def is_switch(connection: FortnoxConnection | None, provider: str) -> bool:
    """Whether connecting ``provider`` switches the store from another system it was connected to."""
    return connection is not None and connection.provider != provider and connection.connected_at is not None


def last_booked_day(session: Session, store_id: int, channel: str) -> date | None:
    """The latest day ``channel`` booked (an export sent, or under way) or holds (a day claim)."""
    sent = session.scalar(
        select(func.max(Export.business_date)).where(
            Export.store_id == store_id, Export.channel == channel, Export.state.in_(BOOKED)
        )
    )
    claimed = last_claimed_day(session, store_id, channel)
    return max((day for day in (sent, claimed) if day is not None), default=None)


def check_connect(session: Session, store: Store, provider: str, start_date: date | None) -> date | None:
    """Whether ``store`` may connect ``provider`` now; returns the start date to apply (None when this is
    no switch). Raises :class:`ConnectRefused` while another system is connected, or when a switch has no
    start date or one not after the old system's last day."""
    connection = connection_of(session, store.id)
    new = name(provider)
    if connection is not None and connection.status != "disconnected" and connection.provider != provider:
        raise ConnectRefused(
            "{old} is connected to this store, and a store books in one accounting system at a time",
            "disconnect {old} first, then connect {new} with a start date",
            old=name(connection.provider),
            new=new,
        )
    if not is_switch(connection, provider):
        return None
    old = name(connection.provider)
    last = last_booked_day(session, store.id, connection.provider)
    if start_date is None:
        raise ConnectRefused(
            "switching from {old} to {new} needs a start date",
            "give the first business day {new} should book; the days before it stay in {old}",
            old=old,
            new=new,
        )
    if last is not None and start_date <= last:
        raise ConnectRefused(
            "the start date {start} is not after {last}, the last day booked in {old}",
            "choose {first} or later: a day is booked in one system only",
            start=start_date.isoformat(),
            last=last.isoformat(),
            first=(last + timedelta(days=1)).isoformat(),
            old=old,
        )
    return start_date


def first_start_date(session: Session, store: Store) -> date | None:
    """The earliest start date a switch may have: the day after the old system's last day (None when no
    switch is pending or the old system booked nothing)."""
    connection = connection_of(session, store.id)
    if connection is None or connection.connected_at is None:
        return None
    last = last_booked_day(session, store.id, connection.provider)
    return None if last is None else last + timedelta(days=1)


@dataclass
class SwitchOutcome:
    """What connecting the new system changed, for the audit log and the manager's message."""

    old: str
    new: str
    start_date: date
    moved_days: list[date] = field(default_factory=list)
    #: ``kind:key`` -> account of mapping entries whose account the new chart lacks.
    needs_mapping: dict[str, int] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)


def apply_switch(
    session: Session, store: Store, user: User | None, old: str, new: str, start_date: date
) -> SwitchOutcome:
    """After the new system is connected and its chart imported: set the start date, move the unsent days
    from it on to the new channel, and check the mapping, series and cost center against the new data."""
    outcome = SwitchOutcome(old, new, start_date)
    sync = settings_of(session, store)
    sync.sync_from = start_date
    now = datetime.now(UTC)
    for export in session.scalars(
        select(Export)
        .where(
            Export.store_id == store.id,
            Export.channel == old,
            Export.business_date >= start_date,
            Export.state.in_(UNSENT),
        )
        .order_by(Export.business_date)
    ):
        # A refusal, a wait or a held duplicate was the old system's answer: the new one is asked afresh.
        target = states.READY if export.state in AFRESH else export.state
        kept = (export.error_message, export.error_fix) if target == export.state else (None, None)
        export.channel = new
        export.attempts, export.forced, export.evidence = 0, False, []
        states.move(
            session,
            export,
            target,
            actor=user,
            now=now,
            message=kept[0],
            fix=kept[1],
            action="export.switched",
            to=new,
        )
        outcome.moved_days.append(export.business_date)
    chart = set(session.scalars(select(FortnoxAccount.number).where(FortnoxAccount.store_id == store.id)))
    outcome.needs_mapping = {
        f"{entry.kind}:{entry.key}": entry.account
        for entry in session.scalars(select(MappingEntry).where(MappingEntry.store_id == store.id))
        if entry.account not in chart
    }
    # Only a series people may post to by hand will do (Fortnox's A, say, is the system's own).
    manual = list(
        session.scalars(
            select(FortnoxVoucherSeries.code).where(
                FortnoxVoucherSeries.store_id == store.id, FortnoxVoucherSeries.manual.is_(True)
            )
        )
    )
    if sync.voucher_series not in manual:
        if sync.voucher_series:
            outcome.cleared.append(f"voucher series {sync.voucher_series}")
        sync.voucher_series = manual[0] if len(manual) == 1 else None
    centers = set(
        session.scalars(select(FortnoxCostCenter.code).where(FortnoxCostCenter.store_id == store.id))
    )
    if sync.cost_center and sync.cost_center not in centers:
        outcome.cleared.append(f"cost center {sync.cost_center}")
        sync.cost_center = None
    audit.record(
        session,
        user,
        "accounting.switched",
        store,
        f"{name(old)} -> {name(new)} from {start_date.isoformat()}",
        old=old,
        new=new,
        start_date=start_date.isoformat(),
        moved_days=[day.isoformat() for day in outcome.moved_days],
        needs_mapping=outcome.needs_mapping,
        cleared=outcome.cleared,
    )
    return outcome
