"""The schema: the Alembic migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backoffice.db import Base


def test_migrations_match_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_times_are_kept_in_utc_whatever_zone_the_postgresql_server_defaults_to(postgres_url):
    """Columns hold UTC without a zone; the workers compare them with aware UTC datetimes. A server whose
    default zone is Stockholm must not shift them by an hour or two."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from backoffice.db import make_engine

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"models_timezone_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        connection.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Europe/Stockholm'"))
    engine = make_engine(make_url(postgres_url).set(database=name).render_as_string(hide_password=False))
    try:
        moment = datetime(2026, 7, 14, 4, 0, tzinfo=UTC)
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT CAST(:moment AS timestamp)"), {"moment": moment}
            ).scalar()
        assert stored == datetime(2026, 7, 14, 4, 0)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
