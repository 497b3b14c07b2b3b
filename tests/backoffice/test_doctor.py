"""`dagskassa doctor` run as a command against a fresh SQLite database: each line ok or the fix, exit code
0 only when nothing failed. SMTP is a real server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.orm import Session

from backoffice.db import make_engine, make_sessionmaker
from backoffice.migrate import upgrade
from backoffice.models import FortnoxConnection
from backoffice.operations.scheduling import beat, tracked
from backoffice.services.fortnox import DbTokenStore
from exporters.fortnox.crypto import TokenCipher
from exporters.fortnox.tokens import TokenSet
from tests.backoffice.factories import ORG_B, agency_with_store

DAGSKASSA = Path(sys.executable).with_name("dagskassa")
KEY = Fernet.generate_key().decode()
ACCESS_TOKEN = "access-3141592653"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_port():
    controller = Controller(object(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port
    controller.stop()


@pytest.fixture
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'dagskassa.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def doctor(tmp_path, url: str, *args: str, **settings: str) -> tuple[int, list[str]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DAGSKASSA_")},
        "DAGSKASSA_DATABASE_URL": url,
        "DAGSKASSA_WEB_SECRET_KEY": "a long random string",
        "DAGSKASSA_SECURITY_ENCRYPTION_KEYS": KEY,
        "DAGSKASSA_FORTNOX_CLIENT_ID": "fortnox-app",
        "DAGSKASSA_FORTNOX_CLIENT_SECRET": "fortnox-secret",
        "DAGSKASSA_VISMA_CLIENT_ID": "visma-app",
        "DAGSKASSA_VISMA_CLIENT_SECRET": "visma-secret",
        "DAGSKASSA_SMTP_TIMEOUT_SECONDS": "5",
        **{f"DAGSKASSA_{name.upper()}": value for name, value in settings.items()},
    }
    done = subprocess.run(
        [str(DAGSKASSA), "doctor", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout.splitlines()


def line(lines: list[str], subject: str) -> str:
    (found,) = [text for text in lines if text[6:].startswith(subject + ":")]
    return found


def connect(url: str, key: str, org_number: str | None = None, name: str = "Exempelkrogen") -> int:
    """A store whose Fortnox tokens are stored, sealed with ``key``."""
    engine = make_engine(url)
    with Session(engine) as db:
        _agency, store, _admin, _manager = (
            agency_with_store(db, name, org_number) if org_number else agency_with_store(db, name)
        )
        row = FortnoxConnection(store_id=store.id, status="disconnected", scopes="")
        db.add(row)
        db.commit()
        store_id, row_id = store.id, row.id
    now = datetime.now(UTC)
    tokens = TokenSet(ACCESS_TOKEN, "refresh-2718281828", now + timedelta(hours=1), now)
    DbTokenStore(make_sessionmaker(engine), row_id, TokenCipher([key])).replace(tokens)
    engine.dispose()
    return store_id


def scheduler_ran(url: str, minutes_ago: float = 0) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    beat(sessions, "host-a:4242", datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=minutes_ago))
    tracked(sessions, "sweep", lambda: None)()
    engine.dispose()


def test_all_well_every_line_ok_and_exit_0(tmp_path, database, smtp_port):
    connect(database, KEY)
    scheduler_ran(database)
    code, lines = doctor(tmp_path, database, smtp_host="127.0.0.1", smtp_port=str(smtp_port))
    assert code == 0, lines
    assert lines and all(text.startswith("ok ") for text in lines), lines
    assert "1 connections decrypt" in line(lines, "stored tokens")
    assert "host-a:4242" in line(lines, "scheduler")
    assert "ok" in line(lines, "job sweep")
    assert f"127.0.0.1:{smtp_port}" in line(lines, "smtp")


def test_an_unmigrated_database_is_told_to_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    engine = make_engine(url)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # the file exists, without tables
    engine.dispose()
    code, lines = doctor(tmp_path, url)
    assert code == 1
    assert line(lines, "database").startswith("ok")
    schema = line(lines, "database schema")
    assert schema.startswith("FAIL") and "not migrated" in schema and "dagskassa db upgrade" in schema
    code, lines = doctor(tmp_path, f"sqlite:///{tmp_path / 'missing.sqlite'}")
    assert code == 1 and "dagskassa db upgrade" in line(lines, "database")
    assert not (tmp_path / "missing.sqlite").exists()  # the doctor does not create it


def test_tokens_sealed_with_another_key_name_the_store_and_the_fix(tmp_path, database):
    connect(database, KEY)
    lost = connect(database, Fernet.generate_key().decode(), ORG_B, "Hamnkiosken")
    scheduler_ran(database)
    code, lines = doctor(tmp_path, database)
    assert code == 1
    tokens = line(lines, "stored tokens")
    assert tokens.startswith("FAIL")
    assert f"1 of 2 connections cannot be decrypted: 'Hamnkiosken Butik 1' (store {lost})" in tokens
    assert "security.encryption_keys" in tokens and "connect those stores again" in tokens
    assert "Exempelkrogen" not in tokens
    assert not any(ACCESS_TOKEN in text or "refresh-2718281828" in text for text in lines)


def test_an_old_key_is_reported_and_rotated_away(tmp_path, database):
    old, new = KEY, Fernet.generate_key().decode()
    connect(database, old)
    scheduler_ran(database)
    code, lines = doctor(tmp_path, database, security_encryption_keys=f"{new},{old}")
    assert code == 0
    assert "sealed with an older key" in next(text for text in lines if text.startswith("warn"))
    code, lines = doctor(tmp_path, database, "--rotate-keys", security_encryption_keys=f"{new},{old}")
    assert code == 0 and "1 re-encrypted" in lines[0]
    code, lines = doctor(tmp_path, database, security_encryption_keys=new)  # the old key can go
    assert code == 0 and line(lines, "stored tokens").startswith("ok")


def test_a_silent_scheduler_fails_with_the_fix(tmp_path, database):
    scheduler_ran(database, minutes_ago=12)
    code, lines = doctor(tmp_path, database)
    assert code == 1
    scheduler = line(lines, "scheduler")
    assert scheduler.startswith("FAIL") and "12 min ago" in scheduler and "dagskassa scheduler" in scheduler
    code, lines = doctor(tmp_path, database, "--scheduler-minutes", "15")
    assert line(lines, "scheduler").startswith("ok")


def test_smtp_not_configured_warns_and_a_closed_port_fails_with_the_fix(tmp_path, database):
    scheduler_ran(database)
    code, lines = doctor(tmp_path, database)
    assert code == 0 and line(lines, "smtp").startswith("warn")
    code, lines = doctor(tmp_path, database, smtp_host="127.0.0.1", smtp_port=str(free_port()))
    assert code == 1
    smtp = line(lines, "smtp")
    assert smtp.startswith("FAIL") and "smtp.host, smtp.port" in smtp


def test_a_bad_setting_is_named_with_its_fix(tmp_path, database):
    code, lines = doctor(tmp_path, database, smtp_tls="maybe")
    assert code == 1
    assert lines == [
        "FAIL  configuration: setting smtp.tls: 'maybe' is not a TLS mode (use none, starttls or ssl)"
    ]
    code, lines = doctor(tmp_path, database, fortnox_client_secret="", web_secret_key="")
    assert code == 1
    assert "DAGSKASSA_FORTNOX_CLIENT_SECRET" in line(lines, "fortnox app")
    assert "DAGSKASSA_WEB_SECRET_KEY" in line(lines, "web.secret_key")
