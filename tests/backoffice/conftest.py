"""BackOffice fixtures: a migrated database on SQLite (a fresh copy per test) or on the throwaway
PostgreSQL (its own database, emptied per test), the app on it, and two agencies to keep apart."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.db import Base, make_engine, make_sessionmaker
from backoffice.migrate import upgrade
from backoffice.services.fortnox import Fortnox
from exporters.fortnox import sandbox
from tests.backoffice.factories import ORG_B, agency_with_store, app_settings, sandbox_fortnox


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "dagskassa.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A database of our own on the shared throwaway server, migrated once."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    # The pid too: two test runs may share one server (several people on one machine).
    name = f"backoffice_test_{worker}_{os.getpid()}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(postgres_url).set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, sqlite_template: str, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "dagskassa.sqlite"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield engine


@pytest.fixture
def sqlite_engine(sqlite_template: str, tmp_path) -> Iterator[Engine]:
    """SQLite only, for page tests that need no second database."""
    path = tmp_path / "dagskassa.sqlite"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@dataclass
class World:
    """Two agencies, each with a store, an admin and a manager; ids kept for use after the session."""

    store_a: int
    admin_a: str
    manager_a: str
    store_b: int
    admin_b: str
    manager_b: str
    agency_a: int
    agency_b: int


@pytest.fixture
def world(engine: Engine) -> World:
    with Session(engine) as session:
        agency_a, store_a, admin_a, manager_a = agency_with_store(session, "Byrå A")
        agency_b, store_b, admin_b, manager_b = agency_with_store(session, "Byrå B", ORG_B)
        session.commit()
        return World(
            store_a.id,
            admin_a.email,
            manager_a.email,
            store_b.id,
            admin_b.email,
            manager_b.email,
            agency_a.id,
            agency_b.id,
        )


@pytest.fixture
def app(engine: Engine):
    return create_app(app_settings(engine.url.render_as_string(hide_password=False)), engine=engine)


@pytest.fixture
def client(app):
    return app.test_client()


#: The Fortnox sandbox's address inside the tests (served in process through httpx.WSGITransport).
SANDBOX = "http://fortnox.sandbox"


@pytest.fixture
def fortnox_state():
    """The Fortnox sandbox's books; a module picks its own seed by defining this fixture again."""
    return sandbox.seeded_state(seed=3)


@pytest.fixture
def fortnox(engine, fortnox_state):
    """The BackOffice's Fortnox wiring against the in-process sandbox holding ``fortnox_state``."""
    settings = app_settings(engine.url.render_as_string(hide_password=False)).replace(
        fortnox=sandbox_fortnox(SANDBOX, timeout_seconds=5.0),
        security={"encryption_keys": (Fernet.generate_key().decode(),)},
        web={"public_url": "http://localhost"},
    )
    transport = httpx.WSGITransport(app=sandbox.create_app(fortnox_state))
    return Fortnox(settings, make_sessionmaker(engine), transport)
