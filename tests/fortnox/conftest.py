"""Fixtures: the Fortnox sandbox mounted in process (httpx.WSGITransport) or served on 127.0.0.1, and a
connected client. Every request body the client sends to the API is validated against the schemas
derived from Fortnox's spec as it goes out (an event hook on the httpx client: the real boundary)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser

import httpx
import jsonschema
import pytest
from werkzeug.serving import make_server

from exporters.fortnox.client import FortnoxClient
from exporters.fortnox.limiter import SlidingWindowLimiter
from exporters.fortnox.oauth import FortnoxOAuth, scopes_needed
from exporters.fortnox.sandbox import CLIENT_ID, CLIENT_SECRET, SandboxState, create_app, seeded_state
from exporters.fortnox.schemas import check_request
from exporters.fortnox.tokens import InMemoryTokenStore

EXEMPELKROGEN = 100001
ANNA = ("anna@exempelkrogen.se", "anna-sandbox")
REDIRECT_URI = "http://127.0.0.1:8000/fortnox/callback"
ALL_SCOPES = scopes_needed(invoicing=True)


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.action = found.get("action") or ""
        elif tag == "input" and found.get("name") and found.get("type") == "hidden":
            self.fields[str(found["name"])] = found.get("value") or ""


def consent(
    http: httpx.Client,
    authorization_url: str,
    user: tuple[str, str] = ANNA,
    decision: str = "grant",
    tenant: int | None = None,
) -> str:
    """Play the person at Fortnox's consent page: open it, fill in the form, press a button. Returns
    where Fortnox sends the browser back (the callback URL with code and state, or an error)."""
    page = http.get(authorization_url)
    assert page.status_code == 200, page.text
    form = _FormReader()
    form.feed(page.text)
    fields = {**form.fields, "email": user[0], "password": user[1], "decision": decision}
    if tenant is not None:
        fields["tenant"] = str(tenant)
    answer = http.post(httpx.URL(authorization_url).join(form.action), data=fields)
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["Location"]


class SentBodies:
    """Every request body sent to the API, checked against Fortnox's schema. A test that sends a body
    Fortnox's schema forbids on purpose (to see Fortnox's answer) lists the problem in ``expected``."""

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.invalid: list[str] = []
        self.expected: list[str] = []

    def __call__(self, request: httpx.Request) -> None:
        json_body = request.headers.get("Content-Type", "").startswith("application/json")
        if request.method in ("POST", "PUT") and request.url.path.startswith("/3/") and json_body:
            try:
                self.checked.append(check_request(request.read()))
            except (jsonschema.ValidationError, ValueError) as exc:
                self.invalid.append(f"{request.method} {request.url.path}: {getattr(exc, 'message', exc)}")


@pytest.fixture
def sent_bodies() -> Iterator[SentBodies]:
    bodies = SentBodies()
    yield bodies
    assert bodies.invalid == bodies.expected, "the client sent bodies outside Fortnox's schema"


@pytest.fixture
def sandbox() -> SandboxState:
    return seeded_state()


@pytest.fixture
def http(sandbox: SandboxState, sent_bodies: SentBodies) -> Iterator[httpx.Client]:
    """An httpx client whose transport is the sandbox, in process."""
    transport = httpx.WSGITransport(app=create_app(sandbox))
    with httpx.Client(
        transport=transport, base_url="http://fortnox.sandbox", event_hooks={"request": [sent_bodies]}
    ) as client:
        yield client


@dataclass
class Served:
    url: str
    state: SandboxState


@pytest.fixture
def served_sandbox(sandbox: SandboxState) -> Iterator[Served]:
    """The sandbox served over real HTTP on 127.0.0.1 (a free port), in a thread."""
    server = make_server("127.0.0.1", 0, create_app(sandbox), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}", sandbox)
    finally:
        server.shutdown()
        thread.join()


def make_oauth(
    http: httpx.Client, sandbox: SandboxState, base: str = "http://fortnox.sandbox"
) -> FortnoxOAuth:
    return FortnoxOAuth(http, CLIENT_ID, CLIENT_SECRET, f"{base}/oauth-v1", now=sandbox.clock.now)


def connect(
    http: httpx.Client,
    sandbox: SandboxState,
    scopes: tuple[str, ...] = ALL_SCOPES,
    user: tuple[str, str] = ANNA,
    base: str = "http://fortnox.sandbox",
) -> InMemoryTokenStore:
    """The whole OAuth dance; a store holding the connection's tokens."""
    oauth = make_oauth(http, sandbox, base)
    request = oauth.authorization_url(REDIRECT_URI, scopes)
    tokens = oauth.exchange_code(consent(http, request.url, user), request)
    return InMemoryTokenStore(f"{CLIENT_ID}:{EXEMPELKROGEN}", tokens)


def make_client(
    http: httpx.Client, sandbox: SandboxState, store: InMemoryTokenStore, base: str = "http://fortnox.sandbox"
) -> FortnoxClient:
    # Waiting is not what these tests are about: the limiter and the backoff sleep on the sandbox's clock.
    def sleep(seconds: float) -> None:
        with sandbox.lock:
            sandbox.clock.advance(seconds)

    limiter = SlidingWindowLimiter(24, 5.0, sandbox.clock.monotonic, sleep)
    return FortnoxClient(
        http, store, make_oauth(http, sandbox, base), limiter, base, sandbox.clock.now, sleep
    )


@pytest.fixture
def store(http: httpx.Client, sandbox: SandboxState) -> InMemoryTokenStore:
    return connect(http, sandbox)


@pytest.fixture
def client(http: httpx.Client, sandbox: SandboxState, store: InMemoryTokenStore) -> FortnoxClient:
    return make_client(http, sandbox, store)


@pytest.fixture
def today(sandbox: SandboxState) -> date:
    return sandbox.clock.today()
