"""Fixtures for the Fortnox sandbox's own tests: the app in process (httpx.WSGITransport) and served on
127.0.0.1 in a thread, and the OAuth dance done the way a person does it on the consent page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from exporters.fortnox.sandbox import (
    CLIENT_ID,
    CLIENT_SECRET,
    SandboxServer,
    SandboxState,
    create_app,
    seeded_state,
)

REDIRECT_URI = "http://127.0.0.1:8080/fortnox/callback"
ALL_SCOPES = "bookkeeping companyinformation costcenter settings customer invoice order"
ANNA = ("anna@exempelkrogen.se", "anna-sandbox")


@pytest.fixture
def state() -> SandboxState:
    return seeded_state(seed=1)


@pytest.fixture
def http(state: SandboxState) -> Iterator[httpx.Client]:
    """A plain client on the in-process sandbox (no token)."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=create_app(state)), base_url="http://sandbox.test"
    ) as c:
        yield c


def auth_params(scope: str = ALL_SCOPES, **extra: str) -> dict[str, str]:
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "st-123",
        "access_type": "offline",
        "response_type": "code",
    }
    params.update(extra)
    return params


def redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def consent(
    http: httpx.Client,
    params: dict[str, str],
    user: tuple[str, str] = ANNA,
    decision: str = "grant",
    **form: str,
) -> httpx.Response:
    """Open the consent page, then post the form as a person would: log in and press a button."""
    page = http.get("/oauth-v1/auth", params=params)
    assert page.status_code == 200, page.text
    return http.post(
        "/oauth-v1/auth", data={**params, "email": user[0], "password": user[1], "decision": decision, **form}
    )


def get_code(http: httpx.Client, params: dict[str, str] | None = None, **kwargs: Any) -> str:
    query = redirect_query(consent(http, params or auth_params(), **kwargs))
    assert query["state"] == "st-123"
    return query["code"]


def token_request(http: httpx.Client, data: dict[str, str], **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("auth", (CLIENT_ID, CLIENT_SECRET))
    return http.post("/oauth-v1/token", data=data, **kwargs)


def tokens(http: httpx.Client, scope: str = ALL_SCOPES, user: tuple[str, str] = ANNA) -> dict[str, Any]:
    """The whole dance: consent, then the code for tokens."""
    code = get_code(http, auth_params(scope), user=user)
    response = token_request(
        http, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def api(http: httpx.Client) -> httpx.Client:
    """The in-process sandbox with a bearer token of Exempelkrogen AB (100001) and every scope we use."""
    http.headers["Authorization"] = f"Bearer {tokens(http)['access_token']}"
    return http


@pytest.fixture
def served(state: SandboxState) -> Iterator[SandboxServer]:
    """The sandbox on 127.0.0.1 (a free port), threaded, as end-to-end tests and benchmarks use it."""
    with SandboxServer(state) as server:
        yield server


def voucher_body(day: str, **overrides: Any) -> dict[str, Any]:
    """A balanced Z-report voucher for Exempelkrogen AB in manual series K."""
    voucher = {
        "Description": f"Z 142 Kassa 1 {day} [dk:abc]",
        "TransactionDate": day,
        "VoucherSeries": "K",
        "VoucherRows": [
            {"Account": 1910, "Debit": 1250.00, "Credit": 0, "TransactionInformation": "Kontant"},
            {"Account": 3001, "Debit": 0, "Credit": 1000.00, "CostCenter": "REST1"},
            {"Account": 2611, "Debit": 0, "Credit": 250.00},
        ],
    }
    voucher.update(overrides)
    return {"Voucher": voucher}


def post_voucher(
    api: httpx.Client, state: SandboxState, params: dict[str, Any] | None = None, **overrides: Any
) -> httpx.Response:
    """POST a voucher dated today (the sandbox's clock) unless ``TransactionDate`` is given."""
    body = voucher_body(overrides.pop("TransactionDate", state.clock.today().isoformat()), **overrides)
    return api.post("/3/vouchers", json=body, params=params or {})
