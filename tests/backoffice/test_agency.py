"""The agency overview: every store with its preflight and last export, sortable and filterable, in a
number of queries that does not grow with the number of stores."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from backoffice.models import (
    Export,
    FortnoxConnection,
    PreflightResult,
    Register,
    Store,
    ZReportRecord,
    utcnow,
)
from tests.backoffice.factories import sign_in


def _add_stores(engine, agency_id: int, count: int, start: int = 0) -> None:
    with Session(engine) as session:
        for n in range(start, start + count):
            store = Store(agency_id=agency_id, name=f"Butik {n:03d}", org_number="556677-8899")
            session.add(store)
            session.flush()
            ok = n % 3 != 0
            checks = [{"name": "connection", "ok": True, "evidence": "", "fix": ""},
                      {"name": "voucher_series", "ok": ok, "evidence": "K", "fix": "" if ok else "tick Manuell"}]  # fmt: skip
            session.add(PreflightResult(store_id=store.id, ok=ok, checks=checks))
            session.add(FortnoxConnection(store_id=store.id, status="connected", refresh_issued_at=utcnow()))
            register = Register(
                store_id=store.id, register_key="Kassa 1", control_unit_id="CU", token_hash=f"{n:064d}"
            )
            session.add(register)
            session.flush()
            for day in (1, 2):
                record = ZReportRecord(
                    store_id=store.id, register_id=register.id, z_number=day, business_date=date(2026, 3, day),
                    raw_json="{}", content_hash="x", gross_sales=0, total_payments=0,
                )  # fmt: skip
                session.add(record)
                session.flush()
                state = "posted" if day == 1 else ("ready" if ok else "needs_attention")
                session.add(Export(z_report_id=record.id, store_id=store.id, business_date=record.business_date,
                                   channel="fortnox", state=state))  # fmt: skip
        session.commit()


def _statements(engine, action) -> int:
    count = 0

    def counter(*_args) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counter)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count


def test_overview_shows_every_store_with_last_export_in_constant_queries(client, engine, world):
    _add_stores(engine, world.agency_a, 6)
    sign_in(client, world.admin_a)
    few = _statements(engine, lambda: client.get("/agency/"))
    _add_stores(engine, world.agency_a, 24, start=6)
    page = []
    many = _statements(engine, lambda: page.append(client.get("/agency/").get_data(as_text=True)))
    assert many == few
    html = page[0]
    assert html.count("<tr data-store=") == 31  # 30 + the world's own store; never agency B's
    assert "Byrå B Butik 1" not in html
    row = html.split("Butik 003</a>")[1].split("</tr>")[0]
    assert "pf failed" in row and "2026-03-02" in row and "behöver åtgärd" in row


def names(html: str) -> list[str]:
    """The store names in the table, in order."""
    return [part.split("</a>")[0] for part in html.split('/">')[1:] if part.startswith("Butik ")]


def test_overview_sorts_and_filters(client, engine, world):
    _add_stores(engine, world.agency_a, 9)
    sign_in(client, world.admin_a)
    descending = names(client.get("/agency/?sort=name&dir=desc").get_data(as_text=True))
    assert descending == sorted(descending, reverse=True) and len(descending) == 9
    failing = client.get("/agency/?sort=preflight").get_data(as_text=True)
    assert names(failing)[:3] == ["Butik 000", "Butik 003", "Butik 006"]
    filtered = names(client.get("/agency/?q=butik+00&problems=1").get_data(as_text=True))
    assert filtered == ["Butik 000", "Butik 003", "Butik 006"]


def test_store_ids_in_the_table_are_the_agency_s_own(client, engine, world):
    _add_stores(engine, world.agency_b, 3)
    sign_in(client, world.admin_a)
    html = client.get("/agency/").get_data(as_text=True)
    with Session(engine) as session:
        own = {str(i) for i in session.scalars(select(Store.id).where(Store.agency_id == world.agency_a))}
    shown = {part.split('"')[1] for part in html.split("data-store=")[1:]}
    assert shown == own
