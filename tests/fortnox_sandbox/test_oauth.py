"""The OAuth2 dance against the in-process sandbox: consent page, codes, rotating refresh tokens, revoke,
service accounts, and the exact error answers Fortnox gives."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest

from exporters.fortnox.sandbox import SandboxState
from exporters.fortnox.sandbox.seed import LIMITED_CLIENT_ID
from tests.fortnox_sandbox.conftest import (
    ANNA,
    REDIRECT_URI,
    auth_params,
    consent,
    get_code,
    redirect_query,
    token_request,
    tokens,
)

INVALID_REFRESH = {"error": "invalid_grant", "error_description": "Invalid refresh token"}
INVALID_CLIENT = {"error": "invalid_client", "error_description": "The client credentials are invalid"}


def _claims(access_token: str) -> dict:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_consent_page_shows_the_scopes_and_the_dance_gives_fortnox_shaped_tokens(http: httpx.Client) -> None:
    page = http.get("/oauth-v1/auth", params=auth_params("bookkeeping costcenter"))
    assert page.status_code == 200
    assert "bookkeeping" in page.text and "costcenter" in page.text and 'value="st-123"' in page.text

    answer = tokens(http, "bookkeeping costcenter")

    assert set(answer) == {"access_token", "refresh_token", "scope", "expires_in", "token_type"}
    assert answer["expires_in"] == 3600 and answer["token_type"] == "bearer"
    assert answer["scope"] == "bookkeeping costcenter"
    assert _claims(answer["access_token"])["tenantId"] == 100001
    who = http.get("/3/me", headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert who.json()["MeInformation"]["Email"] == ANNA[0]


def test_deny_redirects_with_access_denied_and_the_state(http: httpx.Client) -> None:
    query = redirect_query(consent(http, auth_params(), decision="deny"))
    assert query["error"] == "access_denied" and query["state"] == "st-123" and "code" not in query


def test_unknown_client_and_foreign_redirect_get_an_error_page_not_a_redirect(http: httpx.Client) -> None:
    unknown = http.get("/oauth-v1/auth", params=auth_params(client_id="nobody"))
    foreign = http.get("/oauth-v1/auth", params=auth_params(redirect_uri="https://evil.example/cb"))
    assert unknown.status_code == 400 and "ClientID supplied is invalid" in unknown.text
    assert foreign.status_code == 400 and "location" not in foreign.headers


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"scope": "bookkeeping nosuchscope"}, "invalid_scope"),
        ({"state": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_bad_authorization_requests_redirect_with_the_error(
    http: httpx.Client, extra: dict, error: str
) -> None:
    response = http.get("/oauth-v1/auth", params=auth_params(**extra))
    assert redirect_query(response)["error"] == error


def test_a_client_may_ask_only_for_its_own_scopes(http: httpx.Client) -> None:
    params = auth_params("bookkeeping invoice", client_id=LIMITED_CLIENT_ID)
    assert redirect_query(http.get("/oauth-v1/auth", params=params))["error"] == "invalid_scope"


def test_wrong_password_shows_the_form_again(http: httpx.Client) -> None:
    response = consent(http, auth_params(), user=(ANNA[0], "wrong"))
    assert response.status_code == 401 and "Fel e-postadress eller lösenord" in response.text


def test_a_user_of_several_companies_picks_one(http: httpx.Client) -> None:
    bureau = ("byra@redovisning.se", "byra-sandbox")
    choose = consent(http, auth_params(), user=bureau)
    assert choose.status_code == 200 and "Kedjan Väst AB" in choose.text and 'name="tenant"' in choose.text

    code = redirect_query(consent(http, auth_params(), user=bureau, tenant="100003"))["code"]
    answer = token_request(
        http, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    )
    info = http.get(
        "/3/companyinformation", headers={"Authorization": f"Bearer {answer.json()['access_token']}"}
    )
    assert info.json()["CompanyInformation"]["CompanyName"] == "Kedjan Väst AB"


def test_a_code_works_once_and_its_replay_kills_the_tokens_it_gave(http: httpx.Client) -> None:
    code = get_code(http)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    first = token_request(http, form)
    replay = token_request(http, form)

    assert first.status_code == 200
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    refresh = token_request(
        http, {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    )
    assert refresh.status_code == 400


def test_a_code_expires_after_ten_minutes(http: httpx.Client, state: SandboxState) -> None:
    code = get_code(http)
    state.clock.advance(10 * 60 + 1)
    response = token_request(
        http, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_the_redirect_uri_must_match_the_authorization_request(http: httpx.Client) -> None:
    code = get_code(http)
    response = token_request(
        http, {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:1/other"}
    )
    assert response.status_code == 400


def test_pkce_verifier_is_checked_when_a_challenge_was_sent(http: httpx.Client) -> None:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = auth_params(code_challenge=challenge, code_challenge_method="S256")
    form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}

    wrong = token_request(http, {**form, "code": get_code(http, params), "code_verifier": "x" * 50})
    right = token_request(http, {**form, "code": get_code(http, params), "code_verifier": verifier})

    assert wrong.status_code == 400 and wrong.json()["error_description"] == "Invalid code verifier"
    assert right.status_code == 200


def test_refresh_tokens_rotate_and_a_reused_one_gets_fortnox_s_exact_answer(http: httpx.Client) -> None:
    first = tokens(http)
    rotated = token_request(http, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    reused = token_request(http, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})

    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != first["refresh_token"]
    assert reused.status_code == 400
    assert reused.headers["content-type"] == "text/html; charset=UTF-8"
    assert json.loads(reused.text) == INVALID_REFRESH
    again = token_request(
        http, {"grant_type": "refresh_token", "refresh_token": rotated.json()["refresh_token"]}
    )
    assert again.status_code == 200


def test_refresh_token_dies_after_45_days_and_access_token_after_an_hour(
    http: httpx.Client, state: SandboxState
) -> None:
    answer = tokens(http)
    bearer = {"Authorization": f"Bearer {answer['access_token']}"}
    assert http.get("/3/companyinformation", headers=bearer).status_code == 200

    state.clock.advance(3600)
    expired = http.get("/3/companyinformation", headers=bearer)
    assert expired.status_code == 401 and expired.json() == {"message": "unauthorized"}
    assert expired.headers["content-type"] == "application/json"

    state.clock.advance(45 * 86400)
    late = token_request(http, {"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]})
    assert late.status_code == 400 and json.loads(late.text) == INVALID_REFRESH


def test_bad_client_gets_fortnox_s_exact_answer(http: httpx.Client) -> None:
    answer = tokens(http)
    form = {"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]}
    wrong_secret = token_request(http, form, auth=("dagskassa-sandbox", "nope"))
    no_auth = http.post("/oauth-v1/token", data=form)

    for response in (wrong_secret, no_auth):
        assert response.status_code == 401
        assert response.headers["content-type"] == "text/plain;charset=UTF-8"
        assert json.loads(response.text) == INVALID_CLIENT
    # the refresh token was not spent by the refused calls
    assert token_request(http, form).status_code == 200


def test_revoke_kills_the_refresh_token(http: httpx.Client) -> None:
    answer = tokens(http)
    revoked = http.post(
        "/oauth-v1/revoke",
        data={"token_type_hint": "refresh_token", "token": answer["refresh_token"]},
        auth=("dagskassa-sandbox", "sandbox-secret"),
    )
    assert revoked.json() == {"revoked": True}
    refresh = token_request(http, {"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]})
    assert refresh.status_code == 400


def test_service_account_needs_an_administrator_then_client_credentials_work(http: httpx.Client) -> None:
    params = auth_params("bookkeeping companyinformation", account_type="service")
    refused = consent(http, params, user=("kim@exempelkrogen.se", "kim-sandbox"))
    assert refused.status_code == 403
    no_consent = token_request(http, {"grant_type": "client_credentials"}, headers={"TenantId": "100001"})
    assert no_consent.status_code == 400

    get_code(http, params)
    answer = token_request(http, {"grant_type": "client_credentials"}, headers={"TenantId": "100001"})

    assert answer.status_code == 200 and "refresh_token" not in answer.json()
    info = http.get(
        "/3/companyinformation", headers={"Authorization": f"Bearer {answer.json()['access_token']}"}
    )
    assert info.json()["CompanyInformation"]["DatabaseNumber"] == 100001


def test_a_client_without_service_accounts_is_refused(http: httpx.Client) -> None:
    params = auth_params("bookkeeping", client_id=LIMITED_CLIENT_ID, account_type="service")
    query = redirect_query(http.get("/oauth-v1/auth", params=params))
    assert query["error"] == "invalid_request" and "service account" in query["error_description"]
