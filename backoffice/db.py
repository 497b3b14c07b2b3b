"""The database: engine and sessions from ``settings.database``, the declarative base and the money type.

SQLite by default (one machine), PostgreSQL by URL (several). Views and jobs own the transaction: a
service takes a session and never commits.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import Engine, MetaData, Numeric, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from exporters.core.money import CENT, from_ore, to_ore

WRITE_LOCK_TIMEOUT = 15.0
#: Execution option naming a transaction that only reads (see :func:`begin_read`).
READ_ONLY = "dagskassa_read_only"


class _WholeOre(Numeric):
    """NUMERIC(14, 2) in SQLite's schema, holding whole öre: an INTEGER, passed through untouched."""

    def bind_processor(self, dialect: Any) -> None:
        return None

    def result_processor(self, dialect: Any, coltype: Any) -> None:
        return None


class MoneyType(TypeDecorator[Decimal]):
    """``Numeric(14, 2)`` that reads back a two-decimal ``Decimal`` on every database.

    PostgreSQL keeps NUMERIC exactly. SQLite has no decimal type (a NUMERIC column turns "1234.50" into
    a REAL), so there the amount is stored as whole öre, an INTEGER, which SQLite keeps exactly; money
    never passes through a float on either database.
    """

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return _WholeOre(14, 2)
        return dialect.type_descriptor(Numeric(14, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        return to_ore(Decimal(value)) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return from_ore(int(value))
        return Decimal(value).quantize(CENT)


Money = Annotated[Decimal, mapped_column(MoneyType())]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and one writer at a time across processes
    (web workers, the scheduler): see :func:`_serialize_sqlite_writers`."""
    if not url.startswith("sqlite"):
        # No pre-ping: it is a round trip per request on the hot path; a connection PostgreSQL dropped
        # fails one request and the pool replaces it.
        # Times are kept as UTC without a zone; an aware datetime is cast with the session's TimeZone,
        # so the session's zone is UTC whatever the server's default is.
        return create_engine(
            url,
            echo=echo,
            pool_size=10,
            max_overflow=20,
            pool_recycle=3600,
            connect_args={"options": "-c timezone=UTC"},
        )
    engine = create_engine(url, echo=echo, connect_args={"timeout": 15})
    database = engine.url.database
    lock_path = f"{database}-writer.lock" if database and database != ":memory:" else None

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
        # pysqlite's own transaction handling would start transactions late; let SQLAlchemy decide.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()
        if lock_path:
            record.info["writer_lock"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    _serialize_sqlite_writers(engine)
    return engine


def _locked() -> OperationalError:
    return OperationalError(
        "BEGIN IMMEDIATE", None, Exception(f"database is locked: no write turn in {WRITE_LOCK_TIMEOUT:.0f} s")
    )


def _wait_for_lock(fd: int) -> None:
    """Take the writers' file lock, polling at a millisecond or so, for at most WRITE_LOCK_TIMEOUT
    seconds: a blocking ``flock`` would hang for ever if one thread waited on itself (a second write
    transaction opened while its first is still open), where SQLite's busy timeout gives an error."""
    deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
    pause = 0.0002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise _locked() from None
            time.sleep(pause)
            pause = min(pause * 2, 0.002)


def _serialize_sqlite_writers(engine: Engine) -> None:
    """Every transaction is ``BEGIN IMMEDIATE`` (the write lock at the start, so a transaction never
    fails halfway when it upgrades a read lock) and waits for its turn on an ``flock`` first.

    SQLite's own busy handler waits by sleeping in growing steps (up to 100 ms), which shows as a long
    tail of answer times when two processes write; the file lock is polled every millisecond or two
    by one thread per process, the others wait on a thread lock.
    """

    # Threads of one process queue on a lock of their own (woken at once); only the thread at the head
    # polls the file lock against other processes.
    process_turn = threading.Lock()

    def lock(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        record = connection.connection._connection_record
        fd = record.info.get("writer_lock")
        if fd is not None:
            if not process_turn.acquire(timeout=WRITE_LOCK_TIMEOUT):
                raise _locked()
            record.info["has_turn"] = True
            try:
                _wait_for_lock(fd)
            except OperationalError:
                unlock_record(None, record)
                raise
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def commit_then_unlock(connection: Any) -> None:
        # The "commit" event comes before SQLAlchemy's COMMIT: commit here, under the lock, so the next
        # writer never meets this transaction still open (SQLite's busy handler would make it sleep).
        # SQLAlchemy's own commit that follows finds no transaction and does nothing.
        record = connection.connection._connection_record
        try:
            if record.info.get("has_turn"):
                connection.connection.dbapi_connection.commit()
        finally:
            unlock_record(None, record)

    def unlock_connection(connection: Any) -> None:
        unlock_record(None, connection.connection._connection_record)

    def unlock_record(_dbapi_connection: Any, record: Any) -> None:
        fd = record.info.get("writer_lock") if record is not None else None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            if record.info.pop("has_turn", False):
                process_turn.release()

    def close_record(_dbapi_connection: Any, record: Any) -> None:
        unlock_record(None, record)  # a connection closed mid-transaction (invalidated) gives its turn up
        fd = record.info.pop("writer_lock", None)
        if fd is not None:
            os.close(fd)

    event.listen(engine, "begin", lock)
    event.listen(engine, "commit", commit_then_unlock)
    event.listen(engine, "rollback", unlock_connection)
    event.listen(engine.pool, "checkin", unlock_record)
    event.listen(engine.pool, "close", close_record)


def begin_read(session: Session) -> None:
    """Start the session's transaction as a reader: on SQLite it neither takes nor waits for the write
    lock (WAL readers see a snapshot). Nothing may be written in it; commit, then write in the next."""
    session.connection(execution_options={READ_ONLY: True})


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
