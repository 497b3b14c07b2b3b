"""What one day costs the pipeline in the database, counted by statement: its row, its store, its
Z-report and the store's settings come in one read per attempt (the posting and the attachment), the
tokens with the connection row (no read of their own), and each move is one UPDATE. A night of a
thousand days multiplies every statement here by a thousand."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from backoffice.models import Export
from backoffice.pipeline import attachments, states
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.pipeline.worker import ExportWorker
from exporters.fortnox import sandbox
from tests.backoffice.fortnox_world import connect_store, ledger, send_days


@pytest.fixture
def fortnox_state():
    return sandbox.seeded_state(seed=11)


def test_a_day_posted_with_its_z_report_reads_and_writes_each_row_once_per_attempt(
    engine, fortnox, fortnox_state, world
):
    connect_store(fortnox, world.store_a, world.manager_a)
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    runtime = fortnox_runtime(fortnox, rng=random.Random(3))
    worker = ExportWorker(fortnox.sessions, runtime, "w1", rng=random.Random(3))
    statements: Counter = Counter()

    def count(_conn, _cursor, statement, *_rest) -> None:
        verb = statement.split(None, 1)[0].upper()
        table = re.search(r"(?:FROM|INTO|UPDATE)\s+(\w+)", statement)
        # The worker's looks for due work select ids from exports; an attempt loads whole rows.
        whole = verb == "SELECT" and "exports.z_report_id" in statement
        statements[(verb, "export rows" if whole else table.group(1) if table else "")] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert worker.run_once() == 1  # the day
        assert worker.run_once() == 1  # its Z-report's attachment, by the next sweep
    finally:
        event.remove(engine, "before_cursor_execute", count)
    with Session(engine) as db:
        export = db.scalars(select(Export)).one()
        assert (export.state, export.attachment_state) == (states.POSTED, attachments.ATTACHED)
    assert len(ledger(fortnox_state)) == 1
    # One read of the export (with its store, Z-report and settings) and of its connection per attempt.
    assert statements["SELECT", "export rows"] == 2
    assert statements["SELECT", "fortnox_connections"] == 2
    assert statements["SELECT", "stores"] == statements["SELECT", "z_reports"] == 0
    assert statements["SELECT", "sync_settings"] == 0
    # posting, posted; the attachment's try, its upload, its end
    assert statements["UPDATE", "exports"] == 5
