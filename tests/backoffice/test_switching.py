"""One accounting system per store, and switching a store from Fortnox to Visma through the BackOffice's
pages (flask client, both sandboxes in process): connecting Visma while Fortnox is connected is refused,
the switch needs a start date after the last day booked in Fortnox, the mapping is carried over where
Visma's chart has the accounts and the rest shows as needs mapping, later days go to Visma and earlier
ones never do, and no day is booked in both (counted in both sandboxes' books)."""

from __future__ import annotations

import random
from datetime import date
from urllib.parse import urlsplit

import pytest
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.models import Export, FortnoxConnection, MappingEntry, Store, SyncSettings, User
from backoffice.pipeline import states
from backoffice.pipeline.runtime import accounting_runtime
from backoffice.pipeline.worker import ExportWorker
from backoffice.services.day_claims import claimed_days
from backoffice.services.exports import resend
from backoffice.services.mapping import mapping_rows
from backoffice.services.switching import ConnectRefused
from exporters.fortnox import sandbox as fortnox_sandbox
from exporters.visma import sandbox as visma_sandbox
from tests.backoffice.factories import csrf_token, sign_in
from tests.backoffice.fortnox_world import send_days
from tests.backoffice.provider_world import Books, connect, consent, settings_for, world_transport
from tests.backoffice.test_pipeline import exports

#: z_report(n) is dated 2026-03-13 + n days.
DAY = {n: date(2026, 3, 13 + n) for n in range(1, 9)}


@pytest.fixture
def fortnox_books():
    return Books("fortnox", fortnox_sandbox.seeded_state(seed=3))


@pytest.fixture
def visma_books():
    return Books("visma", visma_sandbox.seeded_state())


@pytest.fixture
def app(engine, fortnox_books, visma_books):
    settings = settings_for(engine.url.render_as_string(hide_password=False))
    transport = world_transport(fortnox_books.state, visma_books.state)
    return create_app(settings, engine=engine, fortnox_transport=transport)


@pytest.fixture
def connector(app):
    return app.extensions["dagskassa"]["fortnox"]


def run_worker(connector) -> None:
    runtime = accounting_runtime(connector, rng=random.Random(1))
    ExportWorker(connector.sessions, runtime, "w1", rng=random.Random(1)).run_once()


def post(client, url: str, **form: str):
    token = csrf_token(client.get("/stores/1/settings").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **form})


def page_text(client, answer) -> str:
    return client.get(answer.headers["Location"]).get_data(as_text=True)


def connect_visma_in_pages(client, connector, store_id: int, start: str):
    """Our Connect button (with the start date), Visma's consent page, our callback."""
    started = post(client, f"/stores/{store_id}/visma/connect", start_date=start)
    assert started.status_code == 302
    assert urlsplit(started.headers["Location"]).hostname == "visma.sandbox", page_text(client, started)
    back = urlsplit(consent(connector.transport, "visma", started.headers["Location"]))
    return client.get(f"{back.path}?{back.query}")


@pytest.fixture
def fortnox_store(engine, connector, fortnox_books, world) -> int:
    """A store that booked days 1-3 in Fortnox, with day 4 received and not sent yet; its mapping has
    card on 1580 (in both charts) and Dryck 25 % on 3000 (only in Fortnox's)."""
    connect(connector, world.store_a, world.manager_a, "fortnox")
    with Session(engine) as db:
        db.add(MappingEntry(store_id=world.store_a, kind="payment_methods", key="card", account=1580))
        db.add(MappingEntry(store_id=world.store_a, kind="product_groups", key="Dryck|25", account=3000))
        db.commit()
    send_days(engine, world.store_a, world.manager_a, range(1, 4))
    run_worker(connector)
    assert [day for _ref, day, _text in fortnox_books.vouchers()] == [DAY[1], DAY[2], DAY[3]]
    send_days(engine, world.store_a, world.manager_a, range(4, 5))
    return world.store_a


def test_the_other_system_is_refused_while_one_is_connected(client, fortnox_store, world):
    sign_in(client, world.manager_a)
    refused = post(client, f"/stores/{fortnox_store}/visma/connect", start_date=DAY[5].isoformat())
    assert urlsplit(refused.headers["Location"]).path == f"/stores/{fortnox_store}/settings"
    page = page_text(client, refused)
    assert str(escape("koppla från Fortnox först och anslut sedan Visma med ett startdatum")) in page
    client.get("/language/en")
    refused = post(client, f"/stores/{fortnox_store}/visma/connect", start_date=DAY[5].isoformat())
    assert "disconnect Fortnox first, then connect Visma with a start date" in page_text(client, refused)


def test_switching_needs_a_start_date_after_the_days_booked_in_fortnox(
    client, engine, connector, fortnox_store, world
):
    sign_in(client, world.manager_a)
    client.get("/language/en")
    post(client, f"/stores/{fortnox_store}/fortnox/disconnect")
    page = client.get(f"/stores/{fortnox_store}/settings").get_data(as_text=True)
    assert 'id="start-date-visma"' in page and f'min="{DAY[4].isoformat()}"' in page
    for start, words in [
        ("", "switching from Fortnox to Visma needs a start date"),
        ("14 mars", "is not a date"),
        (DAY[3].isoformat(), f"is not after {DAY[3].isoformat()}, the last day booked in Fortnox"),
    ]:
        refused = post(client, f"/stores/{fortnox_store}/visma/connect", start_date=start)
        assert urlsplit(refused.headers["Location"]).hostname is None
        assert str(escape(words)) in page_text(client, refused), start
    done = connect_visma_in_pages(client, connector, fortnox_store, DAY[4].isoformat())
    page = page_text(client, done)
    assert "Visma was connected." in page
    assert f"From {DAY[4].isoformat()} the days go to Visma; the days before stay in Fortnox." in page
    overview = client.get(f"/stores/{fortnox_store}/").get_data(as_text=True)
    assert '<span id="accounting-system">Visma</span>' in overview
    with Session(engine) as db:
        row = db.scalars(select(FortnoxConnection)).one()
        assert (row.provider, row.status, row.company_name) == ("visma", "connected", "Exempelkrogen AB")
        assert db.get(SyncSettings, fortnox_store).sync_from == DAY[4]


def test_the_mapping_is_carried_over_where_visma_has_the_accounts(
    client, engine, connector, fortnox_store, world
):
    sign_in(client, world.manager_a)
    client.get("/language/en")
    post(client, f"/stores/{fortnox_store}/fortnox/disconnect")
    done = connect_visma_in_pages(client, connector, fortnox_store, DAY[4].isoformat())
    assert "1 accounts of the mapping are not in Visma&#39;s chart" in page_text(client, done)
    with Session(engine) as db:
        rows = mapping_rows(db, db.get(Store, fortnox_store))
        entries = {(e.kind, e.key): e.account for e in db.scalars(select(MappingEntry))}
    assert entries == {("payment_methods", "card"): 1580, ("product_groups", "Dryck|25"): 3000}
    needs = [(row.kind, row.key, row.account) for row in rows if row.source == "missing"]
    assert needs[0] == ("product_groups", "Dryck|25", 3000)
    assert rows[0].source == "missing"  # needs mapping comes first
    assert {(r.kind, r.key): r.source for r in rows}[("payment_methods", "card")] == "store"
    page = client.get(f"/stores/{fortnox_store}/mapping").get_data(as_text=True)
    first_row = page.split("<tbody>")[1].split("</tr>")[0]
    assert (
        "Dryck 25 %" in first_row and "needs mapping" in first_row and "3000: not in the chart" in first_row
    )


def test_later_days_go_to_visma_earlier_ones_never_and_none_twice(
    client, engine, connector, fortnox_store, fortnox_books, visma_books, world
):
    sign_in(client, world.manager_a)
    post(client, f"/stores/{fortnox_store}/fortnox/disconnect")
    connect_visma_in_pages(client, connector, fortnox_store, DAY[4].isoformat())
    saved = post(client, f"/stores/{fortnox_store}/mapping", **{"acct:product_groups:Dryck|25": "3001"})
    assert saved.status_code == 302
    send_days(engine, fortnox_store, world.manager_a, range(5, 7))
    # A day Fortnox booked is sent again after the switch: it stays Fortnox's, Visma never gets it.
    with Session(engine) as db:
        booked = db.scalars(select(Export).where(Export.business_date == DAY[2])).one()
        manager = db.scalars(select(User).where(User.email == world.manager_a)).one()
        resend(db, db.get(Store, fortnox_store), manager, booked)
        db.commit()
    run_worker(connector)
    run_worker(connector)
    by_day = {e.business_date: e for e in exports(engine)}
    assert {day: e.channel for day, e in by_day.items()} == {
        DAY[1]: "fortnox",
        DAY[2]: "fortnox",
        DAY[3]: "fortnox",
        DAY[4]: "visma",  # received before the switch, not sent: it moved
        DAY[5]: "visma",
        DAY[6]: "visma",
    }
    assert [by_day[DAY[n]].state for n in (4, 5, 6)] == [states.POSTED] * 3
    assert by_day[DAY[2]].state == states.NEEDS_ATTENTION
    assert "belongs to Fortnox" in by_day[DAY[2]].error_message
    fortnox_days = [day for _ref, day, _text in fortnox_books.vouchers()]
    visma_days = [day for _ref, day, _text in visma_books.vouchers()]
    assert fortnox_days == [DAY[1], DAY[2], DAY[3]]
    assert visma_days == [DAY[4], DAY[5], DAY[6]]
    with Session(engine) as db:
        claims = claimed_days(db, fortnox_store)
    assert claims == {DAY[n]: "fortnox" for n in (1, 2, 3)} | {DAY[n]: "visma" for n in (4, 5, 6)}


def test_visma_preflight_on_the_store_page_and_the_agency_overview(
    client, engine, connector, fortnox_store, world
):
    sign_in(client, world.manager_a)
    post(client, f"/stores/{fortnox_store}/fortnox/disconnect")
    connect_visma_in_pages(client, connector, fortnox_store, DAY[4].isoformat())
    checked = post(client, f"/stores/{fortnox_store}/preflight")
    page = page_text(client, checked)
    for name in ("scopes", "api_module", "fiscal_year", "cost_center", "lock_date"):
        assert f'<tr class="ok"><td>{name}</td>' in page, name
    # The account only Fortnox's chart has fails Visma's check until it is mapped again.
    assert '<tr class="failed"><td>accounts</td>' in page and "3000" in page
    client.get("/logout")
    sign_in(client, world.admin_a)
    overview = client.get("/agency/").get_data(as_text=True)
    row = overview.split(f'data-store="{fortnox_store}"')[1].split("</tr>")[0]
    assert 'class="pf failed"' in row
    assert "<td>Visma: <span" in row  # the table names each store's system
    sign_in(client, world.manager_a)
    post(client, f"/stores/{fortnox_store}/mapping", **{"acct:product_groups:Dryck|25": "3001"})
    page = page_text(client, post(client, f"/stores/{fortnox_store}/preflight"))
    assert '<tr class="failed">' not in page and '<tr class="ok"><td>accounts</td>' in page


def test_switching_back_to_fortnox_follows_the_same_rules(
    client, engine, connector, fortnox_store, fortnox_books, visma_books, world
):
    sign_in(client, world.manager_a)
    post(client, f"/stores/{fortnox_store}/fortnox/disconnect")
    connect_visma_in_pages(client, connector, fortnox_store, DAY[4].isoformat())
    post(client, f"/stores/{fortnox_store}/mapping", **{"acct:product_groups:Dryck|25": "3001"})
    run_worker(connector)
    assert [day for _ref, day, _text in visma_books.vouchers()] == [DAY[4]]
    refused = post(client, f"/stores/{fortnox_store}/fortnox/connect", start_date=DAY[5].isoformat())
    assert "koppla från Visma först" in page_text(client, refused)
    post(client, f"/stores/{fortnox_store}/fortnox/disconnect")  # disconnects whichever is connected
    with pytest.raises(ConnectRefused, match="is not after 2026-03-17, the last day booked in Visma"):
        connect(connector, fortnox_store, world.manager_a, "fortnox", DAY[4])
    connected = connect(connector, fortnox_store, world.manager_a, "fortnox", DAY[5])
    assert (connected.switch.old, connected.switch.new) == ("visma", "fortnox")
    with Session(engine) as db:
        sync = db.get(SyncSettings, fortnox_store)
        # Visma's series A is Fortnox's automatic one: K, Fortnox's one manual series, is chosen instead.
        assert (sync.sync_from, sync.voucher_series) == (DAY[5], "K")
    send_days(engine, fortnox_store, world.manager_a, range(5, 6))
    run_worker(connector)
    assert [day for _ref, day, _text in fortnox_books.vouchers()] == [DAY[1], DAY[2], DAY[3], DAY[5]]
    assert [day for _ref, day, _text in visma_books.vouchers()] == [DAY[4]]
