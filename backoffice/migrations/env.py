"""Alembic environment: the BackOffice runs it through :func:`backoffice.migrate.upgrade`, which passes
an open connection (so the same code serves SQLite, PostgreSQL and the tests)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from backoffice import models  # noqa: F401  (registers the tables on Base.metadata)
from backoffice.db import Base

config = context.config


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as connection:
        run_migrations(connection)
