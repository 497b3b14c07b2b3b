"""The inbox and voucher file connections: the sandbox's rules (upload, connect, one connection per file,
scopes, Fortnox-style errors) through the client, and the Fortnox session attaching a file once however
the answers are lost."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

import httpx
import pytest

from exporters.core import NotFound, OutcomeUnknown, Reconnect, Rejected
from exporters.fortnox.client import FortnoxClient
from exporters.fortnox.oauth import BOOKKEEPING_SCOPES
from exporters.fortnox.provider import FortnoxSession
from exporters.fortnox.sandbox import SandboxState
from exporters.providers import PostedVoucher
from tests.fortnox.conftest import EXEMPELKROGEN, connect, make_client
from tests.fortnox.test_provider import MAPPING
from tests.fortnox.test_voucher_rules import THIS_YEAR, day_voucher

PDF = b"%PDF-1.4\n% a Z-report\n%%EOF\n"
NAME = "Z-142_Kassa-1_2026-03-14.pdf"


def connections_of(sandbox: SandboxState) -> list[tuple[str, str, int]]:
    tenant = sandbox.tenants[EXEMPELKROGEN]
    return sorted((c.file_id, c.series, c.number) for c in tenant.file_connections.values())


@pytest.fixture
def posted(client: FortnoxClient, today: date) -> PostedVoucher:
    return client.create_voucher(day_voucher(today), THIS_YEAR)


@pytest.fixture
def session(client: FortnoxClient, sandbox: SandboxState) -> FortnoxSession:
    return FortnoxSession(client, MAPPING, sandbox.clock.now)


def test_upload_answers_the_file_and_serves_it_back(client: FortnoxClient, sandbox: SandboxState) -> None:
    file_id = client.upload_to_inbox(NAME, PDF)
    stored = sandbox.tenants[EXEMPELKROGEN].files[file_id]
    assert (stored.name, stored.folder, stored.data, stored.content_type) == (
        NAME,
        "inbox_v",
        PDF,
        "application/pdf",
    )
    folder = client.get("/3/inbox", {"folderId": "inbox_v"})["Folder"]
    assert [(f["Id"], f["Name"], f["Size"], f["Path"]) for f in folder["Files"]] == [
        (file_id, NAME, len(PDF), "inbox_v")
    ]
    assert client.inbox_file_named(NAME) == file_id
    token = client.tokens.load().access_token
    served = client.http.get(f"/3/inbox/{file_id}", headers={"Authorization": f"Bearer {token}"})
    assert (served.status_code, served.content) == (200, PDF)


def test_upload_refuses_json_an_unknown_folder_and_an_empty_file(client: FortnoxClient, sent_bodies) -> None:
    sent_bodies.expected.append("POST /3/inbox: not a known request envelope: ['File']")
    with pytest.raises(Rejected) as caught:
        client.post("/3/inbox", {"File": {"Name": NAME}})
    assert caught.value.code == 1000031
    with pytest.raises(NotFound):
        client.upload_to_inbox(NAME, PDF, folder="inbox_nowhere")
    with pytest.raises(Rejected, match="tom"):
        client.upload_to_inbox(NAME, b"")


def test_connect_then_look_it_up(client: FortnoxClient, posted: PostedVoucher, sandbox: SandboxState) -> None:
    file_id = client.upload_to_inbox(NAME, PDF)
    made = client.connect_file(file_id, "K", int(posted.number), THIS_YEAR)
    expected = {"FileId": file_id, "VoucherSeries": "K", "VoucherNumber": str(posted.number)}
    assert made.items() >= {**expected, "VoucherYear": THIS_YEAR}.items()
    assert made["VoucherDescription"] == posted.description
    assert client.file_connection(file_id).items() >= expected.items()
    assert [c["FileId"] for c in client.file_connections()] == [file_id]
    assert client.inbox_file_named(NAME) is None  # connected: no longer waiting in the inbox
    assert connections_of(sandbox) == [(file_id, "K", posted.number)]


def test_duplicates_unknown_files_and_vouchers_are_refused(
    client: FortnoxClient, posted: PostedVoucher, sandbox: SandboxState, today: date
) -> None:
    file_id = client.upload_to_inbox(NAME, PDF)
    client.connect_file(file_id, "K", int(posted.number), THIS_YEAR)
    with pytest.raises(Rejected, match="redan kopplad"):
        client.connect_file(file_id, "K", int(posted.number), THIS_YEAR)
    other = client.create_voucher(day_voucher(today), THIS_YEAR)
    with pytest.raises(Rejected, match="redan kopplad"):
        client.connect_file(file_id, "K", int(other.number), THIS_YEAR)
    with pytest.raises(NotFound, match="filen"):
        client.connect_file("no-such-file", "K", int(posted.number), THIS_YEAR)
    second = client.upload_to_inbox("other.pdf", PDF)
    with pytest.raises(NotFound, match="verifikationen"):
        client.connect_file(second, "K", 999, THIS_YEAR)
    assert client.file_connection("no-such-file") is None
    assert connections_of(sandbox) == [(file_id, "K", posted.number)]


def test_without_the_inbox_and_connectfile_scopes_it_is_reconnect(
    http: httpx.Client, sandbox: SandboxState, posted: PostedVoucher
) -> None:
    bookkeeping_only = make_client(http, sandbox, connect(http, sandbox, scopes=BOOKKEEPING_SCOPES))
    with pytest.raises(Reconnect) as caught:
        bookkeeping_only.upload_to_inbox(NAME, PDF)
    assert "2000663" in caught.value.message
    with pytest.raises(Reconnect) as caught:
        FortnoxSession(bookkeeping_only, MAPPING, sandbox.clock.now).attach_file(posted, NAME, PDF)
    assert "inbox" in caught.value.fix and "connectfile" in caught.value.fix
    assert "connect Fortnox again" in caught.value.fix
    inbox_only = make_client(http, sandbox, connect(http, sandbox, scopes=(*BOOKKEEPING_SCOPES, "inbox")))
    file_id = inbox_only.upload_to_inbox(NAME, PDF)
    with pytest.raises(Reconnect):
        inbox_only.connect_file(file_id, "K", int(posted.number), THIS_YEAR)
    assert connections_of(sandbox) == []


def test_the_session_attaches_once(
    session: FortnoxSession, posted: PostedVoucher, sandbox: SandboxState
) -> None:
    uploaded: list[str] = []
    file_id = session.attach_file(posted, NAME, PDF, on_upload=uploaded.append)
    assert uploaded == [file_id]
    again = session.attach_file(posted, NAME, PDF, upload_ref=file_id, on_upload=uploaded.append)
    assert again == file_id and uploaded == [file_id]
    assert connections_of(sandbox) == [(file_id, "K", posted.number)]
    assert len(sandbox.tenants[EXEMPELKROGEN].files) == 1


def test_a_lost_answer_to_the_connect_is_retried_into_one_connection(
    session: FortnoxSession, posted: PostedVoucher, sandbox: SandboxState
) -> None:
    fault = sandbox.knobs.add_fault(
        "store_then_drop", nth=(1,), method="POST", path="/3/voucherfileconnections"
    )
    uploaded: list[str] = []
    with pytest.raises(OutcomeUnknown):
        session.attach_file(posted, NAME, PDF, on_upload=uploaded.append)
    assert fault.fired == 1 and len(uploaded) == 1
    assert session.attach_file(posted, NAME, PDF, upload_ref=uploaded[0]) == uploaded[0]
    assert connections_of(sandbox) == [(uploaded[0], "K", posted.number)]
    assert len(sandbox.tenants[EXEMPELKROGEN].files) == 1


def test_a_lost_answer_to_the_upload_reuses_the_file_in_the_inbox(
    session: FortnoxSession, posted: PostedVoucher, sandbox: SandboxState
) -> None:
    sandbox.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/3/inbox")
    uploaded: list[str] = []
    with pytest.raises(OutcomeUnknown):
        session.attach_file(posted, NAME, PDF, on_upload=uploaded.append)
    assert uploaded == []  # the answer never came, so nothing was recorded
    file_id = session.attach_file(posted, NAME, PDF, on_upload=uploaded.append)
    assert uploaded == [file_id]  # the file the lost request uploaded, found by name, recorded, connected
    assert connections_of(sandbox) == [(file_id, "K", posted.number)]
    assert len(sandbox.tenants[EXEMPELKROGEN].files) == 1


def test_a_file_found_in_the_inbox_is_recorded_before_it_is_connected(
    session: FortnoxSession, posted: PostedVoucher, sandbox: SandboxState
) -> None:
    """Found by a crash test: the upload's answer lost, then the connect's answer lost too. The file
    connected on the second try must be the one the third try is handed back, or it uploads another."""
    sandbox.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/3/inbox")
    sandbox.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/3/voucherfileconnections")
    recorded: list[str] = []
    with pytest.raises(OutcomeUnknown):
        session.attach_file(posted, NAME, PDF, on_upload=recorded.append, first_try=True)
    assert recorded == []
    with pytest.raises(OutcomeUnknown):
        session.attach_file(posted, NAME, PDF, on_upload=recorded.append)
    assert len(recorded) == 1  # the file found in the inbox, recorded before connecting it
    assert (
        session.attach_file(posted, NAME, PDF, upload_ref=recorded[-1], on_upload=recorded.append)
        == (recorded[0])
    )
    assert connections_of(sandbox) == [(recorded[0], "K", posted.number)]
    assert len(sandbox.tenants[EXEMPELKROGEN].files) == 1


def test_a_recorded_upload_removed_from_fortnox_is_uploaded_again(
    session: FortnoxSession, posted: PostedVoucher, sandbox: SandboxState
) -> None:
    assert session.attach_file(posted, NAME, PDF, upload_ref="gone-from-the-inbox")
    assert len(connections_of(sandbox)) == 1


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith("/_sandbox/files/"):
            self.links.append(href)


def test_the_ledger_page_links_the_attached_file(
    session: FortnoxSession, posted: PostedVoucher, http: httpx.Client
) -> None:
    file_id = session.attach_file(posted, NAME, PDF)
    page = http.get("/_sandbox/ledger")
    assert page.status_code == 200 and NAME in page.text
    links = _Links()
    links.feed(page.text)
    assert links.links == [f"/_sandbox/files/{file_id}"]
    served = http.get(links.links[0])
    assert (served.status_code, served.headers["Content-Type"], served.content) == (
        200,
        "application/pdf",
        PDF,
    )
    voucher = http.get("/_sandbox/ledger.json").json()["tenants"][0]["vouchers"][0]
    assert [f["name"] for f in voucher["files"]] == [NAME]
