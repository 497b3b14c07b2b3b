"""Visma's identity server (identity.vismaonline.com, IdentityServer) as the sandbox plays it.

``/connect/authorize``: a login and consent page (a seeded user, a company, grant or deny); the answer
goes back to the redirect URI with ``code`` or ``error`` and the ``state`` echoed. ``/connect/token``:
form-encoded, client authentication by HTTP Basic or in the body (both work at Visma), grants
``authorization_code`` (PKCE checked when a challenge was sent) and ``refresh_token`` (single use: every
refresh gives a new refresh token and kills the old one). ``/connect/revocation``: RFC 7009.
Errors are RFC 6749 JSON (``{"error": "invalid_grant"}``), as IdentityServer sends them.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import timedelta
from urllib.parse import unquote, urlencode, urlsplit

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Blueprint, Response, redirect, request

from exporters.visma.sandbox.api import sandbox_state
from exporters.visma.sandbox.state import (
    ACCESS_TOKEN_LIFETIME,
    AUTH_CODE_LIFETIME,
    KNOWN_SCOPES,
    REFRESH_TOKEN_LIFETIME,
    AuthCode,
    Grant,
    OAuthClient,
    SandboxState,
)

bp = Blueprint("visma_identity", __name__, url_prefix="/connect")

REQUIRED_SCOPES = ("ea:api",)


def _oauth_error(error: str, description: str = "", status: int = 400) -> Response:
    body = {"error": error} | ({"error_description": description} if description else {})
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _redirect_ok(client: OAuthClient, uri: str) -> bool:
    if uri in client.redirect_uris:
        return True
    parts = urlsplit(uri)
    return client.allow_loopback and parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")


def _page(params: dict[str, str], state: SandboxState, message: str = "") -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
    )
    companies = "".join(
        f'<option value="{html.escape(c.key)}">{html.escape(c.name)}</option>'
        for c in state.companies.values()
    )
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in params.get("scope", "").split())
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    page = f"""<!doctype html><html lang="sv"><head><meta charset="utf-8">
<title>Visma eEkonomi sandbox – logga in</title></head><body>
<h1>Visma eEkonomi (sandbox)</h1>{note}
<p>The app <b>{html.escape(params.get("client_id", ""))}</b> asks for access to:</p><ul>{scopes}</ul>
<form method="post" action="/connect/authorize">{hidden}
<label>E-post <input name="email" type="email" autocomplete="username"></label>
<label>Lösenord <input name="password" type="password" autocomplete="current-password"></label>
<label>Företag <select name="company"><option value="">(first of yours)</option>{companies}</select></label>
<button name="decision" value="grant" type="submit">Godkänn</button>
<button name="decision" value="deny" type="submit">Neka</button>
</form></body></html>"""
    return Response(page, status=400 if message.startswith("Error") else 200, mimetype="text/html")


def _back(redirect_uri: str, **params: str) -> Response:
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + separator + urlencode({k: v for k, v in params.items() if v}), 302)


_AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "response_type",
    "prompt",
    "acr_values",
    "code_challenge",
    "code_challenge_method",
)


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    state = sandbox_state()
    source = request.args if request.method == "GET" else request.form
    params = {name: source[name] for name in _AUTHORIZE_PARAMS if source.get(name)}
    with state.lock:
        client = state.clients.get(params.get("client_id", ""))
        if client is None:
            return _page(params, state, "Error: unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if not _redirect_ok(client, redirect_uri):
            return _page(params, state, "Error: the redirect_uri is not registered for this client")
        back_state = params.get("state", "")
        if params.get("response_type") != "code":
            return _back(redirect_uri, error="unsupported_response_type", state=back_state)
        scopes = tuple(params.get("scope", "").split())
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown or not set(REQUIRED_SCOPES) <= set(scopes):
            return _back(redirect_uri, error="invalid_scope", state=back_state)
        method = params.get("code_challenge_method", "plain")
        if params.get("code_challenge") and method not in ("S256", "plain"):
            return _back(redirect_uri, error="invalid_request", state=back_state)
        if request.method == "GET":
            return _page(params, state)
        if request.form.get("decision") != "grant":
            return _back(
                redirect_uri,
                error="access_denied",
                error_description="The user denied access",
                state=back_state,
            )
        user = state.users.get(request.form.get("email", "").strip().lower())
        if user is None or user.password != request.form.get("password", ""):
            return _page(params, state, "Fel e-post eller lösenord")
        company = request.form.get("company") or user.companies[0]
        if company not in user.companies:
            return _page(params, state, f"{user.name} has no access to that company")
        code = AuthCode(
            generate_token(40),
            client.client_id,
            redirect_uri,
            scopes,
            company,
            user.email,
            state.clock.now(),
            params.get("code_challenge"),
            method,
        )
        state.auth_codes[code.code] = code
        return _back(redirect_uri, code=code.code, state=back_state)


def _client(state: SandboxState) -> OAuthClient | None:
    """HTTP Basic or client_id/client_secret in the form: Visma accepts both (FACTS.md section 1)."""
    kind, _, value = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value).decode("utf-8").partition(":")
        except (ValueError, UnicodeError):
            return None
        client_id, secret = unquote(client_id), unquote(secret)
    else:
        client_id, secret = request.form.get("client_id", ""), request.form.get("client_secret", "")
    client = state.clients.get(client_id)
    return client if client is not None and client.client_secret == secret else None


def _issue(state: SandboxState, client_id: str, company: str, user: str, scopes: tuple[str, ...]) -> dict:
    now = state.clock.now()
    access, refresh = generate_token(48), generate_token(48)
    state.access_tokens[access] = Grant(client_id, company, user, scopes, now + ACCESS_TOKEN_LIFETIME)
    body = {
        "access_token": access,
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "token_type": "Bearer",
        "scope": " ".join(scopes),
    }
    if "offline_access" in scopes:
        state.refresh_tokens[refresh] = Grant(client_id, company, user, scopes, now + REFRESH_TOKEN_LIFETIME)
        body["refresh_token"] = refresh
    return body


@bp.post("/token")
def token() -> Response:
    state = sandbox_state()
    if request.mimetype != "application/x-www-form-urlencoded":
        return _oauth_error("invalid_request", "Token requests must be application/x-www-form-urlencoded")
    with state.lock:
        client = _client(state)
        if client is None:
            return _oauth_error("invalid_client", status=400)
        grant_type = request.form.get("grant_type")
        if grant_type == "authorization_code":
            return _code_grant(state, client)
        if grant_type == "refresh_token":
            return _refresh_grant(state, client)
        return _oauth_error("unsupported_grant_type")


def _code_grant(state: SandboxState, client: OAuthClient) -> Response:
    code = state.auth_codes.get(request.form.get("code", ""))
    now = state.clock.now()
    if code is None or code.client_id != client.client_id or now > code.issued_at + AUTH_CODE_LIFETIME:
        return _oauth_error("invalid_grant")
    if code.used:
        # A code used twice: revoke what it gave (RFC 6749 section 4.1.2).
        for refresh in code.refresh_tokens:
            if refresh in state.refresh_tokens:
                state.refresh_tokens[refresh].revoked = True
        return _oauth_error("invalid_grant")
    if request.form.get("redirect_uri", "") != code.redirect_uri:
        return _oauth_error("invalid_grant", "redirect_uri does not match")
    if code.code_challenge:
        verifier = request.form.get("code_verifier", "")
        expected = create_s256_code_challenge(verifier) if code.code_challenge_method == "S256" else verifier
        if not verifier or expected != code.code_challenge:
            return _oauth_error("invalid_grant", "Transformed code verifier does not match code challenge")
    code.used = True
    body = _issue(state, client.client_id, code.company, code.user, code.scopes)
    if "refresh_token" in body:
        code.refresh_tokens.append(body["refresh_token"])
    return Response(json.dumps(body), mimetype="application/json")


def _refresh_grant(state: SandboxState, client: OAuthClient) -> Response:
    old = state.refresh_tokens.get(request.form.get("refresh_token", ""))
    now = state.clock.now()
    if old is None or old.client_id != client.client_id or old.used or old.revoked or old.expires_at <= now:
        return _oauth_error("invalid_grant")
    old.used = True  # single use: every new refresh token cancels the previous one
    body = _issue(state, client.client_id, old.company, old.user, old.scopes)
    return Response(json.dumps(body), mimetype="application/json")


@bp.post("/revocation")
def revocation() -> Response:
    state = sandbox_state()
    with state.lock:
        if _client(state) is None:
            return _oauth_error("invalid_client")
        value = request.form.get("token", "")
        for table in (state.refresh_tokens, state.access_tokens):
            if value in table:
                table[value].revoked = True
        return Response(status=200)


def expire_access_tokens(state: SandboxState) -> None:
    """Make every access token expired (a knob for tests of the refresh path)."""
    with state.lock:
        for grant in state.access_tokens.values():
            grant.expires_at = state.clock.now() - timedelta(seconds=1)
