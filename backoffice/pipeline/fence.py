"""One attempt at an export at a time, whatever the leases say.

Tenant leases keep workers apart for speed and for Fortnox's rate limit, but a lease can lapse while its
holder still lives (a frozen process, a starved heartbeat). Correctness must not rest on it: an attempt
holds this fence on its export from the first read to the last write, and a second attempt on the same
export finds it taken and leaves the export alone.

PostgreSQL: a session-level advisory lock on a connection of its own, kept for the attempt; the server
drops it the moment that connection dies, so a killed worker never leaves it behind. SQLite (one
machine, one worker process): a lock in the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

#: First half of the two-key advisory lock: the namespace of export fences ("dkex").
FENCE_CLASS = 0x646B6578 - 2**31


class ExportFence:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local: set[int] = set()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, export_id: int) -> Iterator[bool]:
        """Yield True while this attempt alone holds ``export_id``; False if another attempt has it."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as connection:
                key = {"cls": FENCE_CLASS, "id": export_id}
                got = connection.execute(text("SELECT pg_try_advisory_lock(:cls, :id)"), key).scalar()
                connection.commit()
                try:
                    yield bool(got)
                finally:
                    if got:
                        connection.execute(text("SELECT pg_advisory_unlock(:cls, :id)"), key)
                        connection.commit()
            return
        with self._lock:
            got = export_id not in self._local
            self._local.add(export_id)
        try:
            yield got
        finally:
            if got:
                with self._lock:
                    self._local.discard(export_id)


def hold_in_transaction(session: Session, export_id: int) -> bool:
    """For a person's change to an export: take its fence until the session's transaction ends (so no
    attempt starts before the change is committed), or False if an attempt holds it now. PostgreSQL: the
    transaction-level form of :meth:`ExportFence.hold`'s advisory lock. SQLite: True (one writer at a
    time, and the web app shares no fence with a worker process)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = {"cls": FENCE_CLASS, "id": export_id}
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:cls, :id)"), key).scalar())
