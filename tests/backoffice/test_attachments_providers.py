"""The Z-report PDF on the voucher in either accounting system, through the real pipeline (the provider
the store's connection names): one attachment per voucher, also after the answer to the link or connect
was lost; reached from each sandbox's ledger page, with the Z-report's figures in its text."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import httpx

from backoffice.pipeline import attachments, states
from tests.backoffice import test_provider_scenarios as scenarios
from tests.backoffice.fortnox_world import send_days
from tests.backoffice.provider_world import FORTNOX_TENANT, VISMA_COMPANY, Books
from tests.backoffice.test_pipeline import Clock, exports
from tests.visma.pdftext import page_lines

# The scenario suite's world: both sandboxes behind one BackOffice, a store connected to one of them.
fortnox_state = scenarios.fortnox_state
visma_state = scenarios.visma_state
connector = scenarios.connector
provider = scenarios.provider
books = scenarios.books
store = scenarios.store

#: Where each system links a file to a voucher, and where its ledger page serves the files.
LINK_PATHS = {"fortnox": "/3/voucherfileconnections", "visma": "/v2/attachmentlinks"}
HOSTS = {"fortnox": "http://fortnox.sandbox", "visma": "http://visma.sandbox"}


def attachments_per_voucher(books: Books) -> list[int]:
    with books.state.lock:
        if books.provider == "fortnox":
            tenant = books.state.tenants[FORTNOX_TENANT]
            return [
                sum(1 for c in tenant.file_connections.values() if (c.year, c.series, c.number) == key)
                for key in tenant.vouchers
            ]
        return [len(v.attachment_ids) for v in books.state.companies[VISMA_COMPANY].vouchers.values()]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.startswith(("/_sandbox/files/", "/_sandbox/attachments/")):
            self.links.append(href)


def pdfs_on_the_ledger_page(connector, provider: str) -> list[bytes]:
    with httpx.Client(transport=connector.transport, base_url=HOSTS[provider]) as browser:
        page = browser.get("/_sandbox/ledger")
        assert page.status_code == 200
        links = _Links()
        links.feed(page.text)
        answers = [browser.get(link) for link in links.links]
    assert all(a.status_code == 200 and a.headers["Content-Type"] == "application/pdf" for a in answers)
    return [a.content for a in answers]


def test_each_voucher_carries_its_z_report_once(engine, connector, books, store, world):
    books.state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path=LINK_PATHS[books.provider])
    send_days(engine, store, world.manager_a, range(1, 3))
    clock = Clock()
    assert scenarios.worker(connector, clock).run_once() == 2  # the vouchers
    assert scenarios.worker(connector, clock).run_once() == 2  # their PDFs; one link's answer is lost
    assert sorted(e.attachment_state for e in exports(engine)) == [attachments.ATTACHED, attachments.PENDING]
    clock.offset = timedelta(minutes=10)
    assert scenarios.worker(connector, clock).run_once() == 1
    assert [(e.state, e.attachment_state) for e in exports(engine)] == [
        (states.POSTED, attachments.ATTACHED)
    ] * 2
    assert len(books.vouchers()) == 2
    assert attachments_per_voucher(books) == [1, 1]

    pdfs = pdfs_on_the_ledger_page(connector, books.provider)
    assert len(pdfs) == 2
    texts = [{line for page in page_lines(pdf) for line in page} for pdf in pdfs]
    assert sorted(number for text in texts for number in ("1", "2") if f"Z-nummer | {number}" in text) == [
        "1",
        "2",
    ]
    for text in texts:
        assert {"Testkrogen AB", "Organisationsnummer | 556677-8899", "Kassa | Kassa 1"} <= text
        assert "Dryck | 25 % | 400,00 kr | 100,00 kr | 500,00 kr" in text
        assert "Summa betalningar | 1 445,60 kr" in text
