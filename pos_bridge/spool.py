"""The spool: everything the register sent, durably, before it is acknowledged (SQLite, WAL, FULL sync).

Tables: ``messages`` (every DKL/1 message as received, unique per hello session and seq), ``z_reports``
(each distinct Z-report with its upload state), ``slips`` (the day-close slip of each Z-report and whether
it is on paper) and ``print_jobs`` (raw bytes of what a print-only register printed). One :class:`Spool`
per thread: SQLite connections are not shared.

Z-report states::

    pending  -> sent       the BackOffice has it (201 new or 200 same again)
             -> conflict   the BackOffice has another report with this number (409); kept for review
             -> rejected   invalid here or at the BackOffice (422); kept with the errors
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exporters.core import Problem, ZReportInvalid, parse_z_report

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (session, seq)
);
CREATE TABLE IF NOT EXISTS print_jobs (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    raw BLOB NOT NULL,
    text TEXT NOT NULL,
    is_z_report INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS z_reports (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    message_id INTEGER REFERENCES messages (id),
    print_job_id INTEGER REFERENCES print_jobs (id),
    z_number INTEGER,
    content_hash TEXT NOT NULL,
    body TEXT,
    state TEXT NOT NULL,
    errors TEXT,
    received_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    sent_at TEXT,
    server_status INTEGER,
    server_reply TEXT,
    UNIQUE (z_number, content_hash)
);
CREATE TABLE IF NOT EXISTS slips (
    id INTEGER PRIMARY KEY,
    z_report_id INTEGER NOT NULL UNIQUE REFERENCES z_reports (id),
    state TEXT NOT NULL,
    printed_count INTEGER NOT NULL DEFAULT 0,
    printer_status TEXT,
    updated_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Stored:
    """What storing one message did: ``duplicate`` when it was already in the spool."""

    duplicate: bool
    z_report_id: int | None = None
    z_state: str | None = None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class ZRow:
    id: int
    z_number: int | None
    body: dict[str, Any] | None
    state: str
    received_at: datetime
    attempts: int
    errors: list[dict[str, str]]
    sent_at: datetime | None


class SeqReused(Exception):
    """The same (session, seq) arrived with different content."""


class Spool:
    def __init__(self, path: str | Path, clock: Clock = utc_now) -> None:
        self.path = str(path)
        self.clock = clock
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _now(self) -> str:
        return self.clock().isoformat()

    # -- the register side -------------------------------------------------------------------------

    def last_hello(self) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT body FROM messages WHERE type = 'hello' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return json.loads(row["body"]) if row else None

    def store_message(
        self, session: str, message: dict[str, Any], z_report: Callable | None = None
    ) -> Stored:
        """Store one message in one transaction; return after it is on disk (the caller ACKs then).

        ``z_report`` (for a z_report message) turns the message into the section-2 JSON or raises
        :class:`ZReportInvalid`; the report is stored as pending or rejected, never dropped. A message
        already stored under (session, seq) is not stored again; different content raises SeqReused.
        """
        body = json.dumps(message, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            existing = self.db.execute(
                "SELECT body FROM messages WHERE session = ? AND seq = ?", (session, message["seq"])
            ).fetchone()
            if existing is not None:
                if json.loads(existing["body"]) != message:
                    raise SeqReused(message["seq"])
                stored = Stored(duplicate=True)
                if message["type"] == "z_report" and z_report is not None:
                    # Found again, not added: the ACK repeats what the first one said.
                    stored = self._add_z_report("dkl1", message, z_report, message_id=None)
                self.db.execute("COMMIT")
                return stored
            cursor = self.db.execute(
                "INSERT INTO messages (session, seq, type, body, received_at) VALUES (?, ?, ?, ?, ?)",
                (session, message["seq"], message["type"], body, self._now()),
            )
            stored = Stored(duplicate=False)
            if message["type"] == "z_report" and z_report is not None:
                stored = self._add_z_report("dkl1", message, z_report, message_id=cursor.lastrowid)
            self.db.execute("COMMIT")
            return stored
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def store_print_job(self, raw: bytes, text: str, z_report: Callable | None = None) -> Stored:
        """Keep a printout's raw bytes; if it is a Z-dagrapport, ``z_report`` builds its JSON."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self.db.execute(
                "INSERT INTO print_jobs (received_at, raw, text, is_z_report) VALUES (?, ?, ?, ?)",
                (self._now(), raw, text, int(z_report is not None)),
            )
            stored = Stored(duplicate=False)
            if z_report is not None:
                stored = self._add_z_report("print_stream", text, z_report, print_job_id=cursor.lastrowid)
            self.db.execute("COMMIT")
            return stored
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def _add_z_report(self, source: str, original: Any, build: Callable, **link: int | None) -> Stored:
        problems: tuple[Problem, ...] = ()
        try:
            data = build(original)
            report = parse_z_report(data)
        except ZReportInvalid as exc:
            problems = exc.problems
            z_number = original.get("z_number") if isinstance(original, dict) else None
            z_number = z_number if isinstance(z_number, int) and not isinstance(z_number, bool) else None
            canonical = json.dumps(original, sort_keys=True, ensure_ascii=False)
            digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
            body, state = None, "rejected"
        else:
            z_number, digest = report.z_number, report.content_hash()
            body, state = json.dumps(report.to_dict(), ensure_ascii=False), "pending"
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO z_reports (source, message_id, print_job_id, z_number, content_hash, body,"
            " state, errors, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source,
                link.get("message_id"),
                link.get("print_job_id"),
                z_number,
                digest,
                body,
                state,
                json.dumps([p.to_dict() for p in problems], ensure_ascii=False) if problems else None,
                self._now(),
            ),
        )
        if cursor.rowcount == 0:
            row = self.db.execute(
                "SELECT id, state FROM z_reports WHERE z_number IS ? AND content_hash = ?", (z_number, digest)
            ).fetchone()
            return Stored(duplicate=True, z_report_id=row["id"], z_state=row["state"], problems=problems)
        self.db.execute(
            "INSERT INTO slips (z_report_id, state, updated_at) VALUES (?, 'pending', ?)",
            (cursor.lastrowid, self._now()),
        )
        return Stored(duplicate=False, z_report_id=cursor.lastrowid, z_state=state, problems=problems)

    # -- the uploader side ------------------------------------------------------------------------

    def _z(self, row: sqlite3.Row) -> ZRow:
        return ZRow(
            id=row["id"],
            z_number=row["z_number"],
            body=json.loads(row["body"]) if row["body"] else None,
            state=row["state"],
            received_at=datetime.fromisoformat(row["received_at"]),
            attempts=row["attempts"],
            errors=json.loads(row["errors"]) if row["errors"] else [],
            sent_at=datetime.fromisoformat(row["sent_at"]) if row["sent_at"] else None,
        )

    def z_reports(self) -> list[ZRow]:
        return [self._z(row) for row in self.db.execute("SELECT * FROM z_reports ORDER BY id")]

    def z_report(self, z_report_id: int) -> ZRow:
        return self._z(self.db.execute("SELECT * FROM z_reports WHERE id = ?", (z_report_id,)).fetchone())

    def next_due(self, now: datetime) -> ZRow | None:
        """The oldest pending Z-report whose next attempt is due (reports go up in the order they came)."""
        row = self.db.execute(
            "SELECT * FROM z_reports WHERE state = 'pending' ORDER BY id LIMIT 1",
        ).fetchone()
        if row is None or (row["next_attempt_at"] and datetime.fromisoformat(row["next_attempt_at"]) > now):
            return None
        return self._z(row)

    def oldest_unsent(self) -> ZRow | None:
        row = self.db.execute(
            "SELECT * FROM z_reports WHERE state = 'pending' ORDER BY id LIMIT 1"
        ).fetchone()
        return self._z(row) if row else None

    def count_by_state(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) AS n FROM z_reports GROUP BY state")
        return {row["state"]: row["n"] for row in rows}

    def mark_sent(self, z_report_id: int, status: int, reply: str) -> None:
        self.db.execute(
            "UPDATE z_reports SET state = 'sent', sent_at = ?, server_status = ?, server_reply = ?,"
            " attempts = attempts + 1, last_error = NULL WHERE id = ?",
            (self._now(), status, reply, z_report_id),
        )

    def mark_refused(self, z_report_id: int, state: str, status: int, reply: str, errors: list[dict]) -> None:
        self.db.execute(
            "UPDATE z_reports SET state = ?, server_status = ?, server_reply = ?, errors = ?,"
            " attempts = attempts + 1 WHERE id = ?",
            (state, status, reply, json.dumps(errors, ensure_ascii=False), z_report_id),
        )

    def mark_retry(self, z_report_id: int, next_attempt_at: datetime, error: str) -> None:
        self.db.execute(
            "UPDATE z_reports SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
            (next_attempt_at.isoformat(), error, z_report_id),
        )

    # -- the printer side -------------------------------------------------------------------------

    def slips_due(self) -> list[tuple[int, ZRow, int]]:
        """Slips not yet on paper, as (slip id, its Z-report, times printed before), oldest first."""
        rows = self.db.execute(
            "SELECT slips.id AS slip_id, slips.printed_count, z_reports.* FROM slips"
            " JOIN z_reports ON z_reports.id = slips.z_report_id WHERE slips.state = 'pending' ORDER BY slips.id"
        ).fetchall()
        return [(row["slip_id"], self._z(row), row["printed_count"]) for row in rows]

    def mark_slip(self, slip_id: int, state: str, printer_status: str, printed: bool) -> None:
        self.db.execute(
            "UPDATE slips SET state = ?, printer_status = ?, printed_count = printed_count + ?, updated_at = ?"
            " WHERE id = ?",
            (state, printer_status, int(printed), self._now(), slip_id),
        )

    def slips(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.db.execute("SELECT * FROM slips ORDER BY id")]
