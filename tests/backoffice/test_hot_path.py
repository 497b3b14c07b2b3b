"""The register API's hot path, piece by piece: a report, its export and its audit entry stored as a plain
insert would (on PostgreSQL one statement), a store's mapping read in one statement still carries the
Fortnox cost-center and project rules, and SQLite writers in several processes never meet another's
transaction still open (each COMMIT runs under the writers' lock)."""

from __future__ import annotations

import multiprocessing
import threading

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from backoffice.db import make_engine
from backoffice.models import (
    AuditEntry,
    Export,
    FortnoxAccount,
    MappingEntry,
    Store,
    SyncSettings,
    User,
    ZReportRecord,
    utcnow,
)
from backoffice.services.mapping import store_mapping
from exporters.core.mapping import ALLOWED
from tests.backoffice.factories import enrolled_token, z_report


def test_a_report_its_export_and_its_audit_entry_are_stored_whole(client, engine, world):
    before = utcnow()
    with Session(engine) as session:
        manager = session.scalars(select(User).where(User.email == world.manager_a)).one()
        token = enrolled_token(session, session.get(Store, world.store_a), manager)
        session.commit()
    response = client.post(
        "/api/v1/z-reports",
        json=z_report(7),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "Kassa 1:z:7"},
    )
    assert response.status_code == 201
    with Session(engine) as session:
        record = session.get(ZReportRecord, response.json["id"])
        assert (record.z_number, record.idempotency_key, record.store_id) == (7, "Kassa 1:z:7", world.store_a)
        assert record.received_at >= before
        (export,) = session.scalars(select(Export).where(Export.z_report_id == record.id)).all()
        assert (export.attempts, export.revision, export.forced, export.evidence) == (0, 0, False, [])
        assert export.created_at >= before and export.updated_at >= before
        assert export.state in ("ready", "needs_attention", "received")
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "z_report.received")).all()
        assert entry.details == {"z_report_id": record.id, "export_state": export.state}
        assert (entry.actor, entry.store_id, entry.user_id) == ("register:Kassa 1", world.store_a, None)
        assert entry.at >= before


def test_the_mapping_read_in_one_statement_keeps_entries_and_rules(engine, world):
    with Session(engine) as session:
        store = session.get(Store, world.store_a)
        session.add_all(
            [
                SyncSettings(store_id=store.id, cost_center="REST1", project="P7"),
                MappingEntry(store_id=store.id, kind="payment_methods", key="card", account=1581),
                MappingEntry(store_id=store.id, kind="product_groups", key="Mat|12", account=3002),
                MappingEntry(store_id=store.id, kind="tips", key="", account=2891),
                FortnoxAccount(store_id=store.id, number=3002, cost_center_rule="MANDATORY"),
                FortnoxAccount(store_id=store.id, number=1581, project_rule="NOTALLOWED"),
                FortnoxAccount(store_id=store.id, number=1910),  # allowed both: not a rule
                # Another store's rule and entry stay out.
                FortnoxAccount(store_id=world.store_b, number=2891, cost_center_rule="NOTALLOWED"),
                MappingEntry(store_id=world.store_b, kind="payment_methods", key="card", account=1999),
            ]
        )
        session.commit()
        mapping = store_mapping(session, store)
    assert mapping.payment_methods["card"] == 1581
    assert mapping.tips == 2891
    assert mapping.cost_center_rules == {3002: "MANDATORY"}
    assert mapping.project_rules == {1581: "NOTALLOWED"}
    assert mapping.cost_center_rule(2891) == ALLOWED
    assert (mapping.cost_center, mapping.project) == ("REST1", "P7")


def _write_many(url: str, rows: int, refused: multiprocessing.Queue) -> None:
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection, _record) -> None:
        # Without the busy handler, meeting another writer's open transaction is an error, not a sleep.
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    count = [0]

    def writer() -> None:
        for number in range(rows):
            try:
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO numbers (n) VALUES (:n)"), {"n": number})
            except Exception:
                count[0] += 1

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    refused.put(count[0])


def test_sqlite_writers_of_several_processes_take_turns_without_colliding(tmp_path):
    url = f"sqlite:///{tmp_path / 'turns.sqlite'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE numbers (id INTEGER PRIMARY KEY, n INTEGER)"))
    refused: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    processes = [
        multiprocessing.get_context("spawn").Process(target=_write_many, args=(url, 150, refused))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    counts = [refused.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
    assert counts == [0, 0]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM numbers")).scalar() == 2 * 2 * 150
    engine.dispose()
