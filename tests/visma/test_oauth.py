"""The OAuth dance against the sandbox's identity server over real HTTP on 127.0.0.1: the consent form
posted as a person would, state and PKCE checked, refresh tokens single use."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from exporters.core.errors import Reconnect
from exporters.tokens import InMemoryTokenStore
from exporters.visma.oauth import SCOPES, AuthorizationDenied, VismaOAuth
from exporters.visma.sandbox import SandboxServer, SandboxState
from tests.visma.conftest import REDIRECT, connect, consent, visma_settings


@pytest.fixture
def live(state: SandboxState) -> Iterator[tuple[httpx.Client, str]]:
    with SandboxServer(state) as sandbox, httpx.Client(timeout=10) as http:
        yield http, sandbox.base_url


def test_consent_gives_tokens_with_the_scopes_and_state_is_echoed(live, state: SandboxState) -> None:
    http, base = live
    oauth = VismaOAuth.from_settings(http, visma_settings(base))
    request = oauth.authorization_url(REDIRECT)
    back = consent(http, request.url)
    assert f"state={request.state}" in back and "code=" in back
    tokens = oauth.exchange_code(back, request)
    assert tokens.scopes == frozenset(SCOPES)
    assert (tokens.expires_at - tokens.issued_at).total_seconds() == 3600
    answer = http.get(f"{base}/v2/fiscalyears", headers={"Authorization": f"Bearer {tokens.access_token}"})
    assert answer.status_code == 200 and answer.json()["Meta"]["TotalNumberOfResults"] == 2


def test_refresh_rotates_and_the_old_refresh_token_is_dead(live) -> None:
    http, base = live
    settings = visma_settings(base)
    oauth = VismaOAuth.from_settings(http, settings)
    first = connect(http, settings)
    second = oauth.refresh(first)
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    third = oauth.refresh(second)
    assert third.scopes == first.scopes
    with pytest.raises(Reconnect) as caught:
        oauth.refresh(first)  # used already: Visma's refresh tokens are single use
    assert "invalid_grant" in caught.value.message and "connect Dagskassa again" in caught.value.fix


def test_a_store_refreshes_once_and_a_dead_token_marks_the_connection(live) -> None:
    http, base = live
    settings = visma_settings(base)
    oauth = VismaOAuth.from_settings(http, settings)
    first = connect(http, settings)
    store = InMemoryTokenStore("s", first)
    fresh = store.refresh(first, oauth.refresh)
    assert store.refresh(first, oauth.refresh) == fresh  # a stale caller gets the stored pair
    assert store.refresh_count == 1
    oauth.refresh(fresh)  # someone else used the stored refresh token behind the store's back
    with pytest.raises(Reconnect):
        store.refresh(fresh, oauth.refresh)
    with pytest.raises(Reconnect):
        store.load()


def test_deny_wrong_state_and_wrong_password(live) -> None:
    http, base = live
    oauth = VismaOAuth.from_settings(http, visma_settings(base))
    request = oauth.authorization_url(REDIRECT)
    denied = consent(http, request.url, decision="deny")
    assert f"state={request.state}" in denied
    with pytest.raises(AuthorizationDenied, match="did not grant"):
        oauth.exchange_code(denied, request)
    other = oauth.authorization_url(REDIRECT)
    with pytest.raises(AuthorizationDenied, match="state"):
        oauth.exchange_code(consent(http, other.url), request)
    page = http.post(
        f"{base}/connect/authorize",
        data={
            **dict(httpx.URL(request.url).params),
            "email": "anna@exempelkrogen.se",
            "password": "nej",
            "decision": "grant",
        },
    )
    assert page.status_code == 200 and "Fel e-post eller lösenord" in page.text


def test_pkce_verifier_is_checked_and_codes_are_single_use(live) -> None:
    http, base = live
    oauth = VismaOAuth.from_settings(http, visma_settings(base))
    request = oauth.authorization_url(REDIRECT)
    back = consent(http, request.url)
    code = dict(httpx.URL(back).params)["code"]
    secret = base64.b64encode(b"dagskassa:dagskassa-secret").decode()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": "x" * 50,
    }
    wrong = http.post(f"{base}/connect/token", data=form, headers={"Authorization": f"Basic {secret}"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # Client authentication in the body works as well as HTTP Basic (Visma accepts both).
    form |= {
        "code_verifier": request.code_verifier,
        "client_id": "dagskassa",
        "client_secret": "dagskassa-secret",
    }
    right = http.post(f"{base}/connect/token", data=form)
    assert right.status_code == 200 and right.json()["token_type"] == "Bearer"
    again = http.post(f"{base}/connect/token", data=form)
    assert again.json()["error"] == "invalid_grant"
    bad_client = http.post(f"{base}/connect/token", data={**form, "client_secret": "nope"})
    assert bad_client.json()["error"] == "invalid_client"


def test_ea_api_scope_is_required(live) -> None:
    http, base = live
    oauth = VismaOAuth.from_settings(http, visma_settings(base))
    request = oauth.authorization_url(REDIRECT, ("ea:accounting", "offline_access"))
    answer = http.get(request.url)
    assert answer.status_code == 302 and "error=invalid_scope" in answer.headers["Location"]


def test_revoked_and_expired_refresh_tokens_ask_for_reconnect(live, state: SandboxState) -> None:
    http, base = live
    settings = visma_settings(base)
    oauth = VismaOAuth.from_settings(http, settings)
    revoked = connect(http, settings)
    oauth.revoke(revoked)
    with pytest.raises(Reconnect):
        oauth.refresh(revoked)
    old = connect(http, settings)
    state.clock.advance(731 * 24 * 3600)  # the sandbox keeps refresh tokens two years (FACTS.md: 2 to 50)
    with pytest.raises(Reconnect):
        oauth.refresh(old)


def test_wrong_client_secret_is_a_settings_problem(live) -> None:
    http, base = live
    good = visma_settings(base)
    tokens = connect(http, good)
    wrong = VismaOAuth(http, good.client_id, "not-the-secret", base)
    with pytest.raises(Reconnect) as caught:
        wrong.refresh(tokens)
    assert "visma.client_secret" in caught.value.fix
