"""The Z-report PDF attached to each posted voucher through the real pipeline (ExportWorker, the Fortnox
sandbox in process), on SQLite and PostgreSQL: exactly one file on the voucher, also when the answer to
the connect is lost or the connect keeps failing; a failure never touches the posted voucher, is retried
with backoff and then shown on the export page with the fix. The PDF is fetched the way an accountant
would reach it, from the sandbox's ledger page, and its text is checked against the Z-report's figures."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import AuditEntry, Store
from backoffice.pipeline import attachments, states
from backoffice.services.mapping import settings_of
from exporters.core.zreport import parse_z_report
from exporters.fortnox import sandbox
from exporters.zreport_pdf import kr
from tests.backoffice import test_pipeline
from tests.backoffice.factories import csrf_token, sign_in, z_report
from tests.backoffice.fortnox_world import TENANT, ledger, send_days
from tests.backoffice.test_pipeline import Clock, exports, worker
from tests.visma.pdftext import page_lines

CONNECT = "/3/voucherfileconnections"

# The pipeline tests' world: the Fortnox sandbox in process (conftest's fortnox) and a store connected to it.
fortnox_state = test_pipeline.fortnox_state
store = test_pipeline.store


def connections(fortnox_state) -> list[tuple[str, int]]:
    """(series, number) of the voucher each file is connected to, in the sandbox's books."""
    with fortnox_state.lock:
        tenant = fortnox_state.tenants[TENANT]
        return sorted((c.series, c.number) for c in tenant.file_connections.values())


def files(fortnox_state) -> int:
    with fortnox_state.lock:
        return len(fortnox_state.tenants[TENANT].files)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.startswith("/_sandbox/files/"):
            self.links.append(href)


def pdfs_from_the_ledger_page(fortnox_state) -> list[bytes]:
    """Open the sandbox's ledger page and follow every attachment link on it."""
    app = sandbox.create_app(fortnox_state)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://fortnox.sandbox") as browser:
        page = browser.get("/_sandbox/ledger", params={"tenant": TENANT})
        assert page.status_code == 200
        links = _Links()
        links.feed(page.text)
        answers = [browser.get(link) for link in links.links]
    assert all(a.status_code == 200 and a.headers["Content-Type"] == "application/pdf" for a in answers)
    return [a.content for a in answers]


def test_a_posted_day_has_its_z_report_attached_once(engine, fortnox, fortnox_state, store, world):
    send_days(engine, store, world.manager_a, range(1, 2))
    assert worker(fortnox).run_once() == 1
    (export,) = exports(engine)
    assert (export.state, export.attachment_state) == (states.POSTED, attachments.PENDING)
    assert files(fortnox_state) == 0  # the night's vouchers go first
    assert worker(fortnox).run_once() == 1  # the next sweep attaches
    (export,) = exports(engine)
    assert (export.state, export.attachment_state) == (states.POSTED, attachments.ATTACHED)
    ((voucher),) = ledger(fortnox_state)
    assert connections(fortnox_state) == [("K", voucher.number)]
    with fortnox_state.lock:
        assert list(fortnox_state.tenants[TENANT].file_connections) == [export.attachment_ref]
    assert worker(fortnox).run_once() == 0  # nothing due: attached once and for all
    assert connections(fortnox_state) == [("K", voucher.number)] and files(fortnox_state) == 1

    (pdf,) = pdfs_from_the_ledger_page(fortnox_state)
    lines = {line for page in page_lines(pdf) for line in page}
    day = parse_z_report(z_report(1))
    expected = {
        "Testkrogen AB",
        "Organisationsnummer | 556677-8899",
        "Kassa | Kassa 1",
        "Z-nummer | 1",
        f"Försäljningsdag | {day.business_date.isoformat()}",
        f"Stängd | {day.closed_at.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"Kontant | {kr(day.payments[0].amount)}",
        f"Kort | {kr(day.payments[1].amount)}",
        f"Summa betalningar | {kr(day.total_payments)}",
        f"Försäljning | {kr(day.grand_totals.sales)}",
        f"Netto | {kr(day.grand_totals.net)}",
    }
    expected |= {
        f"{row.product_group} | {row.vat_rate} % | {kr(row.net)} | {kr(row.vat)} | {kr(row.gross)}"
        for row in day.sales
    }
    assert expected <= lines, sorted(expected - lines)
    assert "Dryck | 25 % | 400,00 kr | 100,00 kr | 500,00 kr" in lines  # the figures themselves


def test_a_lost_answer_to_the_connect_is_retried_into_one_attachment(
    engine, fortnox, fortnox_state, store, world
):
    fault = fortnox_state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path=CONNECT)
    send_days(engine, store, world.manager_a, range(1, 2))
    clock = Clock()
    worker(fortnox, clock).run_once()  # posts
    worker(fortnox, clock).run_once()  # uploads, and the connect's answer is lost
    (export,) = exports(engine)
    assert fault.fired == 1
    assert (export.state, export.attachment_state) == (states.POSTED, attachments.PENDING)
    assert export.attachment_ref and export.attachment_error  # the upload was recorded before connecting
    assert export.attachment_due_at is not None
    assert worker(fortnox, clock).run_once() == 0  # not due before its backoff
    clock.offset = timedelta(minutes=10)
    assert worker(fortnox, clock).run_once() == 1
    (export,) = exports(engine)
    assert export.attachment_state == attachments.ATTACHED and export.attachment_error is None
    (voucher,) = ledger(fortnox_state)
    assert connections(fortnox_state) == [("K", voucher.number)]
    assert files(fortnox_state) == 1


def test_a_connect_that_keeps_failing_is_shown_with_the_fix_and_the_voucher_stays(
    engine, fortnox, fortnox_state, store, world, client
):
    fortnox_state.knobs.add_fault("5xx", rate=1.0, method="POST", path=CONNECT)
    send_days(engine, store, world.manager_a, range(1, 2))
    clock = Clock()
    worker(fortnox, clock).run_once()  # posts
    for tries in range(1, attachments.MAX_ATTEMPTS + 1):
        worker(fortnox, clock).run_once()
        (export,) = exports(engine)
        assert export.state == states.POSTED and export.attachment_attempts == tries
        clock.offset += timedelta(hours=2)
    assert export.attachment_state == attachments.FAILED and "503" in export.attachment_error
    assert worker(fortnox, clock).run_once() == 0
    assert len(ledger(fortnox_state)) == 1  # posted once, never again
    assert connections(fortnox_state) == [] and files(fortnox_state) == 1  # the one upload, reused
    with Session(engine) as db:
        actions = [a.action for a in db.scalars(select(AuditEntry))]
    assert actions.count("export.posted") == 1 and actions.count("export.attachment_failed") == 1

    sign_in(client, world.manager_a)
    detail = f"/stores/{store}/exports/{export.z_report_id}"
    page = client.get(detail).get_data(as_text=True)
    assert "503" in page and "kunde inte bifogas" in page  # the Swedish page says it could not attach

    # Fortnox works again; the manager asks for another try, and the one upload is connected.
    fortnox_state.knobs.faults.clear()
    answer = client.post(f"{detail}/attach_again", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 302
    (export,) = exports(engine)
    assert (export.attachment_state, export.attachment_attempts) == (attachments.PENDING, 0)
    assert worker(fortnox, clock).run_once() == 1
    (export,) = exports(engine)
    assert export.attachment_state == attachments.ATTACHED
    (voucher,) = ledger(fortnox_state)
    assert connections(fortnox_state) == [("K", voucher.number)] and files(fortnox_state) == 1


def test_missing_permissions_ask_to_connect_again_with_inbox_and_connectfile(
    engine, fortnox, fortnox_state, store, world
):
    with fortnox_state.lock:
        for grant in [*fortnox_state.access_tokens.values(), *fortnox_state.refresh_tokens.values()]:
            grant.scopes = tuple(s for s in grant.scopes if s not in ("inbox", "connectfile"))
    send_days(engine, store, world.manager_a, range(1, 2))
    worker(fortnox).run_once()
    worker(fortnox).run_once()
    (export,) = exports(engine)
    assert (export.state, export.attachment_state) == (states.POSTED, attachments.PENDING)
    assert "inbox" in export.attachment_fix and "connectfile" in export.attachment_fix
    assert len(ledger(fortnox_state)) == 1 and connections(fortnox_state) == []


def test_a_store_that_turned_it_off_gets_no_attachment(engine, fortnox, fortnox_state, store, world, client):
    sign_in(client, world.manager_a)
    url = f"/stores/{store}/settings"
    page = client.get(url).get_data(as_text=True)
    assert 'name="attach_z_report" checked' in page  # on by default
    form = {
        "csrf_token": csrf_token(page),
        "sync_sales": "on",
        "voucher_series": "K",
        "posting_time": "00:00",
    }
    assert client.post(url, data=form).status_code == 302  # the box left unticked
    with Session(engine) as db:
        assert settings_of(db, db.get(Store, store)).attach_z_report is False
    send_days(engine, store, world.manager_a, range(1, 3))
    assert worker(fortnox).run_once() == 2
    assert [(e.state, e.attachment_state) for e in exports(engine)] == [(states.POSTED, None)] * 2
    assert worker(fortnox).run_once() == 0
    assert len(ledger(fortnox_state)) == 2 and files(fortnox_state) == 0


def test_a_worker_told_to_stop_leaves_the_attachments_to_the_next(
    engine, fortnox, fortnox_state, store, world
):
    send_days(engine, store, world.manager_a, range(1, 3))
    first = worker(fortnox)
    assert first.run_once() == 2
    first.stopping.set()  # SIGTERM: no new work, not even the PDFs of the vouchers just posted
    assert first.run_once() == 0
    assert [e.attachment_state for e in exports(engine)] == [attachments.PENDING] * 2
    assert worker(fortnox).run_once() == 2
    assert [e.attachment_state for e in exports(engine)] == [attachments.ATTACHED] * 2
    assert len(connections(fortnox_state)) == 2
