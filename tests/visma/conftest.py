"""Fixtures: a seeded Visma sandbox mounted in process (httpx.WSGITransport; dropped connections and
timeouts surface as httpx raises them), a connection made through the real consent form, and a provider
session over it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from config.settings import VismaSettings
from exporters.core import build_voucher, parse_mapping, parse_z_report
from exporters.core.zreport import ZReport
from exporters.limiter import LimiterRegistry
from exporters.providers import get_provider
from exporters.tokens import InMemoryTokenStore, TokenSet
from exporters.visma.oauth import SCOPES, VismaOAuth
from exporters.visma.provider import VismaSession
from exporters.visma.sandbox import SandboxState, create_app, seeded_state

BASE = "http://visma.sandbox"
REDIRECT = "http://127.0.0.1:8000/visma/callback"
ROOT = Path(__file__).resolve().parents[2]


def visma_settings(base: str = BASE) -> VismaSettings:
    return VismaSettings(
        client_id="dagskassa", client_secret="dagskassa-secret", identity_url=base, api_url=base
    )


def consent(
    http: httpx.Client,
    url: str,
    email: str = "anna@exempelkrogen.se",
    password: str = "anna",
    decision: str = "grant",
    company: str = "",
) -> str:
    """Play the person on Visma's consent page: open it, post the form; returns the redirect back."""
    page = http.get(url)
    assert page.status_code == 200 and "Godkänn" in page.text
    form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    form |= {"email": email, "password": password, "decision": decision, "company": company}
    answer = http.post(url.split("?")[0], data=form)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def connect(
    http: httpx.Client, settings: VismaSettings, scopes: tuple[str, ...] = SCOPES, **who: str
) -> TokenSet:
    oauth = VismaOAuth.from_settings(http, settings)
    request = oauth.authorization_url(REDIRECT, scopes)
    return oauth.exchange_code(consent(http, request.url, **who), request)


class FakeTime:
    """The sandbox's clock doubles as the client limiter's clock and sleep: waiting advances it."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.state.clock.monotonic()

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.state.clock.advance(seconds)


@pytest.fixture
def state() -> SandboxState:
    return seeded_state()


@pytest.fixture
def http(state: SandboxState) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.WSGITransport(app=create_app(state)), base_url=BASE) as client:
        yield client


@pytest.fixture
def fake_time(state: SandboxState) -> FakeTime:
    return FakeTime(state)


@pytest.fixture
def tokens(http: httpx.Client) -> InMemoryTokenStore:
    return InMemoryTokenStore("store-1", connect(http, visma_settings()))


@pytest.fixture
def session(
    http: httpx.Client, tokens: InMemoryTokenStore, fake_time: FakeTime, state: SandboxState
) -> VismaSession:
    provider = get_provider("visma")
    limiters = LimiterRegistry(590, 60.0, clock=fake_time.monotonic, sleep=fake_time.sleep)
    return provider.open_session(  # type: ignore[misc]
        visma_settings(), http, tokens, limiters=limiters, now=state.clock.now, sleep=fake_time.sleep
    )


@pytest.fixture
def z_report() -> ZReport:
    return parse_z_report(json.loads((ROOT / "examples" / "z-report-restaurant.json").read_text("utf-8")))


@pytest.fixture
def mapping():
    base = json.loads((ROOT / "config" / "bas_default_mapping.json").read_text("utf-8"))
    return parse_mapping({"cash_difference": 3740}, base)


@pytest.fixture
def voucher(z_report: ZReport, mapping):
    return build_voucher(z_report, mapping)


@pytest.fixture
def bearer(tokens: InMemoryTokenStore) -> dict[str, str]:
    """Headers for raw calls to the sandbox's /v2/ API as the connected store."""
    return {"Authorization": f"Bearer {tokens.load().access_token}"}
