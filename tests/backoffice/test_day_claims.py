"""Guard layer 1 (DESIGN.md section 7) in the database, on SQLite and PostgreSQL: one channel per store and
day, the refusal listing every day and its channel, a race between two channels won by exactly one, the
pipeline's gate before the first send, and the integration's start date."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backoffice.db import make_sessionmaker
from backoffice.models import AuditEntry, Export, Store
from backoffice.pipeline import states
from backoffice.pipeline.exporting import ExportRuntime, attempt
from backoffice.pipeline.fence import ExportFence
from backoffice.services.day_claims import (
    BeforeSyncStart,
    DayClaim,
    DaysClaimed,
    channel_of,
    claim_days,
    claimed_days,
    first_free_day,
    last_claimed_day,
)
from backoffice.services.mapping import settings_of
from exporters.core.errors import FixData
from tests.backoffice.factories import Unreachable
from tests.backoffice.fortnox_world import send_days

D1, D2, D3 = date(2026, 3, 14), date(2026, 3, 15), date(2026, 3, 16)


def test_a_claim_is_idempotent_for_its_channel_and_listed(engine, world):
    with Session(engine) as db:
        claim_days(db, world.store_a, [D1, D2], "fortnox", detail="export 1")
        db.commit()
        claim_days(db, world.store_a, [D2, D1, D1], "fortnox")
        claim_days(db, world.store_b, [D1], "sie")  # another store's day is its own
        db.commit()
        assert claimed_days(db, world.store_a, D1, D3) == {D1: "fortnox", D2: "fortnox"}
        assert claimed_days(db, world.store_a, D2, None) == {D2: "fortnox"}
        assert channel_of(db, world.store_a, D1) == "fortnox"
        assert channel_of(db, world.store_a, D3) is None
        assert channel_of(db, world.store_b, D1) == "sie"
        assert last_claimed_day(db, world.store_a, "fortnox") == D2
        assert first_free_day(db, world.store_b) == D2


def test_another_channel_is_refused_with_every_day_and_nothing_claimed(engine, world):
    with Session(engine) as db:
        claim_days(db, world.store_a, [D1], "fortnox")
        claim_days(db, world.store_a, [D2], "visma")
        db.commit()
        with pytest.raises(DaysClaimed) as refused:
            claim_days(db, world.store_a, [D1, D2, D3], "sie")
        db.rollback()
        error = refused.value
        assert isinstance(error, FixData) and error.action == FixData.action
        assert error.days == {D1: "fortnox", D2: "visma"}
        assert "2026-03-14 (fortnox), 2026-03-15 (visma)" in error.message
        assert "after 2026-03-15" in error.fix
        # All or none: the free day was not claimed for sie either.
        assert claimed_days(db, world.store_a) == {D1: "fortnox", D2: "visma"}


def test_two_channels_racing_for_one_day_exactly_one_wins(engine, world):
    """The first claim is in the database but not committed when the second starts; on PostgreSQL the
    second is seen waiting on the unique key before the first commits."""
    sessions = make_sessionmaker(engine)
    outcome: dict[str, object] = {}
    started = threading.Event()

    def second() -> None:
        started.set()
        with sessions() as db:
            try:
                claim_days(db, world.store_a, [D1], "sie")
                db.commit()
                outcome["sie"] = "won"
            except DaysClaimed as exc:
                outcome["sie"] = exc

    with sessions() as first:
        claim_days(first, world.store_a, [D1], "fortnox")
        thread = threading.Thread(target=second)
        thread.start()
        started.wait()
        if engine.dialect.name == "postgresql":
            _wait_until_a_claim_waits_on_a_lock(engine)
        first.commit()
    thread.join()
    assert isinstance(outcome["sie"], DaysClaimed)
    assert outcome["sie"].days == {D1: "fortnox"}
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "fortnox"}


def test_many_racing_claims_leave_one_channel_per_day(engine, world):
    sessions = make_sessionmaker(engine)
    barrier = threading.Barrier(4)
    wins: list[str] = []
    lock = threading.Lock()

    def claim(channel: str) -> None:
        barrier.wait()
        for day in (D1, D2, D3):
            with sessions() as db:
                try:
                    claim_days(db, world.store_a, [day], channel)
                    db.commit()
                except DaysClaimed:
                    continue
                with lock:
                    wins.append(f"{day} {channel}")

    threads = [threading.Thread(target=claim, args=(c,)) for c in ("fortnox", "visma", "sie", "fortnox")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as db:
        held = claimed_days(db, world.store_a)
    assert set(held) == {D1, D2, D3}
    for day, channel in held.items():
        # Every win of a day was the channel that holds it (the second fortnox thread may win it too).
        assert {w.split()[1] for w in wins if w.startswith(str(day))} == {channel}


def _wait_until_a_claim_waits_on_a_lock(engine) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    with engine.connect() as connection:
        while not connection.execute(waiting).scalar():
            connection.commit()


# -- the pipeline's gate ------------------------------------------------------------------------------


def _runtime(engine, opened: Unreachable) -> ExportRuntime:
    return ExportRuntime(open_session=opened, now=lambda: datetime.now(UTC), fence=ExportFence(engine))


def _export(engine) -> Export:
    with Session(engine) as db:
        return db.scalars(select(Export)).one()


def test_the_pipeline_refuses_a_day_exported_as_sie(engine, world):
    send_days(engine, world.store_a, world.manager_a, range(1, 2))  # business day 2026-03-14
    export = _export(engine)
    assert export.business_date == D1 and export.state == states.READY, export.error_message
    with Session(engine) as db:
        claim_days(db, world.store_a, [D1], "sie", detail="SIE file")
        db.commit()
    opened = Unreachable()
    state = attempt(make_sessionmaker(engine), export.id, _runtime(engine, opened), "w1")
    assert state == states.NEEDS_ATTENTION and opened.calls == 0
    export = _export(engine)
    assert "2026-03-14 (sie)" in export.error_message and "fortnox" in export.error_message
    assert "start date after 2026-03-14" in export.error_fix
    with Session(engine) as db:
        assert channel_of(db, world.store_a, D1) == "sie"
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "export.needs_attention")).one()
        assert "2026-03-14 (sie)" in entry.details["message"]


def test_the_pipeline_refuses_a_day_before_the_start_date(engine, world):
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    with Session(engine) as db:
        settings_of(db, db.get(Store, world.store_a)).sync_from = D2
        db.commit()
    opened = Unreachable()
    state = attempt(make_sessionmaker(engine), _export(engine).id, _runtime(engine, opened), "w1")
    assert state == states.NEEDS_ATTENTION and opened.calls == 0
    export = _export(engine)
    assert "before the integration's start date 2026-03-15: 2026-03-14" in export.error_message
    assert "sync_from" in export.error_fix
    with Session(engine) as db:
        assert channel_of(db, world.store_a, D1) is None  # not claimed: it may still go as SIE


def test_the_pipeline_claims_the_day_in_the_transaction_before_the_send(engine, world):
    """The claim is made before the accounting system is opened, and committed with the attempt's state
    (here a refusal from the accounting side, so nothing is sent)."""
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    seen: list[str | None] = []

    def open_session(db, export):
        seen.append(channel_of(db, export.store_id, export.business_date))
        raise FixData("not connected in this test", "connect")

    runtime = ExportRuntime(
        open_session=open_session, now=lambda: datetime.now(UTC), fence=ExportFence(engine)
    )
    export_id = _export(engine).id
    assert attempt(make_sessionmaker(engine), export_id, runtime, "w1") == states.NEEDS_ATTENTION
    assert seen == ["fortnox"]
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "fortnox"}
        assert db.scalars(select(DayClaim.detail)).one() == f"export {export_id}"
        # A second attempt of the same channel passes the gate (idempotent).
        states.move(db, db.get(Export, export_id), states.READY, now=datetime.now(UTC))
        db.commit()
    attempt(make_sessionmaker(engine), export_id, runtime, "w1")
    assert seen == ["fortnox", "fortnox"]


def test_before_sync_start_names_the_days(engine, world):
    error = BeforeSyncStart([D2, D1], D3)
    assert error.days == (D1, D2)
    assert "2026-03-14, 2026-03-15" in error.message
