"""The whole OAuth dance against the sandbox served over real HTTP on 127.0.0.1: authorization URL with
state and PKCE, the consent form, the code exchange, refresh with rotation, a reused refresh token, a
bad client, revoke; and two threads refreshing one connection at once."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from exporters.core.errors import Reconnect
from exporters.fortnox.oauth import AuthorizationDenied, FortnoxOAuth
from exporters.fortnox.sandbox import CLIENT_ID, SandboxState
from exporters.fortnox.tokens import InMemoryTokenStore, TokenSet
from tests.fortnox.conftest import ALL_SCOPES, REDIRECT_URI, Served, connect, consent, make_client, make_oauth


@pytest.fixture
def real_http(served_sandbox: Served, sent_bodies) -> httpx.Client:
    with httpx.Client(timeout=10, event_hooks={"request": [sent_bodies]}) as http:
        yield http


def test_authorization_url_has_state_pkce_offline_and_service_option(real_http, served_sandbox) -> None:
    oauth = make_oauth(real_http, served_sandbox.state, served_sandbox.url)
    request = oauth.authorization_url(REDIRECT_URI, ["bookkeeping", "settings"], service_account=True)
    query = parse_qs(urlsplit(request.url).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["bookkeeping settings"]
    assert query["state"] == [request.state] and len(request.state) >= 32
    assert query["access_type"] == ["offline"]
    assert query["account_type"] == ["service"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0] != request.code_verifier
    other = oauth.authorization_url(REDIRECT_URI, ["bookkeeping"])
    assert other.state != request.state and "account_type" not in other.url


def test_the_whole_dance_over_http(real_http: httpx.Client, served_sandbox: Served) -> None:
    sandbox, base = served_sandbox.state, served_sandbox.url
    oauth = make_oauth(real_http, sandbox, base)
    request = oauth.authorization_url(REDIRECT_URI, ALL_SCOPES)
    callback = consent(real_http, request.url)
    assert callback.startswith(REDIRECT_URI)
    tokens = oauth.exchange_code(callback, request)
    assert tokens.scopes == frozenset(ALL_SCOPES)
    assert tokens.expires_at - tokens.issued_at == timedelta(hours=1)

    store = InMemoryTokenStore("c1", tokens)
    client = make_client(real_http, sandbox, store, base)
    assert client.company_information()["CompanyName"] == "Exempelkrogen AB"

    # Refresh rotates: the new pair works, the old refresh token is dead and says "reconnect".
    fresh = oauth.refresh(tokens)
    assert fresh.refresh_token != tokens.refresh_token
    with pytest.raises(Reconnect) as caught:
        oauth.refresh(tokens)
    assert "Invalid refresh token" in caught.value.message
    assert "connect Dagskassa again" in caught.value.fix

    # The code works once.
    with pytest.raises(Reconnect):
        oauth.exchange_code(callback, request)

    # Revoke kills the refresh token.
    oauth.revoke(fresh)
    with pytest.raises(Reconnect):
        oauth.refresh(fresh)


def test_a_bad_client_secret_is_reconnect_naming_the_settings(real_http, served_sandbox) -> None:
    good = make_oauth(real_http, served_sandbox.state, served_sandbox.url)
    request = good.authorization_url(REDIRECT_URI, ["bookkeeping"])
    callback = consent(real_http, request.url)
    bad = FortnoxOAuth(real_http, CLIENT_ID, "wrong-secret", f"{served_sandbox.url}/oauth-v1")
    with pytest.raises(Reconnect) as caught:
        bad.exchange_code(callback, request)
    assert "fortnox.client_secret" in caught.value.fix
    assert "client credentials are invalid" in caught.value.message


def test_a_callback_with_another_state_is_refused_before_any_exchange(real_http, served_sandbox) -> None:
    oauth = make_oauth(real_http, served_sandbox.state, served_sandbox.url)
    request = oauth.authorization_url(REDIRECT_URI, ["bookkeeping"])
    callback = consent(real_http, request.url)
    forged = callback.replace(f"state={request.state}", "state=someone-else")
    with pytest.raises(AuthorizationDenied, match="state mismatch"):
        oauth.exchange_code(forged, request)
    # the code was not spent by the refused attempt
    assert oauth.exchange_code(callback, request).access_token


def test_a_denied_consent_says_so(real_http, served_sandbox) -> None:
    oauth = make_oauth(real_http, served_sandbox.state, served_sandbox.url)
    request = oauth.authorization_url(REDIRECT_URI, ["bookkeeping"])
    callback = consent(real_http, request.url, decision="deny")
    with pytest.raises(AuthorizationDenied, match="did not grant access"):
        oauth.exchange_code(callback, request)


def test_a_wrong_code_verifier_is_refused(real_http, served_sandbox) -> None:
    oauth = make_oauth(real_http, served_sandbox.state, served_sandbox.url)
    request = oauth.authorization_url(REDIRECT_URI, ["bookkeeping"])
    callback = consent(real_http, request.url)
    tampered = request.__class__(request.url, request.state, "x" * 64, request.redirect_uri)
    with pytest.raises(Reconnect, match="verifier"):
        oauth.exchange_code(callback, tampered)


def test_two_threads_refreshing_one_connection_end_with_one_valid_pair(real_http, served_sandbox) -> None:
    sandbox, base = served_sandbox.state, served_sandbox.url
    store = connect(real_http, sandbox, base=base)
    clients = [make_client(real_http, sandbox, store, base) for _ in range(2)]
    with sandbox.lock:
        sandbox.clock.advance(3600 + 5)  # both see an expired access token and refresh before calling
    barrier = threading.Barrier(2)
    names: list[str] = []
    errors: list[BaseException] = []

    def work(client) -> None:
        barrier.wait()
        try:
            names.append(client.company_information()["CompanyName"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert names == ["Exempelkrogen AB"] * 2
    assert store.refresh_count == 1
    kept: TokenSet = store.load()
    # the stored refresh token is the one live token: it refreshes once, and only once
    oauth = make_oauth(real_http, sandbox, base)
    assert oauth.refresh(kept).access_token
    with pytest.raises(Reconnect):
        oauth.refresh(kept)


def test_a_dead_refresh_token_turns_the_connection_to_reconnect_without_retrying(
    http: httpx.Client, sandbox: SandboxState
) -> None:
    store = connect(http, sandbox)
    client = make_client(http, sandbox, store)
    make_oauth(http, sandbox).refresh(store.load())  # someone else spent it (e.g. a lost pair)
    with sandbox.lock:
        sandbox.clock.advance(3600 + 5)
    with pytest.raises(Reconnect):
        client.company_information()
    assert store.refresh_count == 1
    with pytest.raises(Reconnect, match="needs to be connected again"):
        client.company_information()
    assert store.refresh_count == 1
