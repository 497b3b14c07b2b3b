"""A franchise chain written straight into a fresh database, for the benchmarks that need many stores:
one agency, N stores each with one register, a run of days with a Z-report and an export per day.

Imports happen inside the functions: ``bench/metrics_scrape.py`` must set up prometheus-client's
multiprocess mode before anything imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any


def fresh_engine(url: str) -> Any:
    """An engine on ``url`` with the schema migrated from empty (a PostgreSQL database is emptied first:
    it is the benchmark's own)."""
    from backoffice.db import Base, make_engine
    from backoffice.migrate import upgrade

    engine = make_engine(url)
    if url.startswith("postgresql"):
        Base.metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(engine)
    return engine


def seed_chain(
    session: Any,
    stores: int,
    first: date,
    days: int,
    state: Callable[[Any], str],
    last_contact: Callable[[int], Any] | None = None,
) -> tuple[Any, list[int]]:
    """Agency "Kedjan" with ``stores`` stores ("Butik 0000" …), a register each (``last_contact(store
    id)`` its last contact, if given), and ``days`` days from ``first`` with a Z-report and an export in
    ``state(row)`` (row: the report's id, store_id, business_date). Returns the agency and the store ids;
    the caller commits."""
    from sqlalchemy import insert, select

    from backoffice.models import Agency, Export, Register, Store, ZReportRecord

    agency = Agency(name="Kedjan")
    session.add(agency)
    session.flush()
    session.execute(
        insert(Store),
        [{"agency_id": agency.id, "name": f"Butik {n:04d}", "org_number": "556677-8899"} for n in range(stores)],
    )  # fmt: skip
    ids = list(session.scalars(select(Store.id).where(Store.agency_id == agency.id).order_by(Store.id)))
    session.execute(
        insert(Register),
        [{"store_id": i, "register_key": "Kassa 1", "control_unit_id": "CU", "token_hash": f"{i:064d}",
          "last_contact_at": last_contact(i) if last_contact else None} for i in ids],
    )  # fmt: skip
    registers = dict(session.execute(select(Register.store_id, Register.id)).all())
    for i in ids:  # a store at a time: one statement with every row of a big chain is a lot of memory
        session.execute(
            insert(ZReportRecord),
            [{"store_id": i, "register_id": registers[i], "z_number": d + 1,
              "business_date": first + timedelta(days=d), "raw_json": "{}", "content_hash": "x",
              "gross_sales": 1000, "total_payments": 1000, "missing_items": [], "mapping_keys": []}
             for d in range(days)],
        )  # fmt: skip
    reports = session.execute(
        select(ZReportRecord.id, ZReportRecord.store_id, ZReportRecord.business_date)
    ).all()
    session.execute(
        insert(Export),
        [{"z_report_id": r.id, "store_id": r.store_id, "business_date": r.business_date, "channel": "fortnox",
          "state": state(r)} for r in reports],
    )  # fmt: skip
    return agency, ids
