"""OAuth2 as Fortnox does it (FACTS.md section 1): ``/oauth-v1/auth`` with a consent page,
``/oauth-v1/token`` with HTTP Basic client authentication, ``/oauth-v1/revoke``.

- Authorization codes live 10 minutes and work once; a reused code also kills the tokens it gave.
- Access tokens are JWTs (claims ``tenantId``, ``userId``, ``clientId``, ``scope``) valid 1 hour.
- Refresh tokens live 45 days and rotate: using one kills it. A dead one gets HTTP 400 with
  ``Content-Type: text/html`` and ``{"error":"invalid_grant","error_description":"Invalid refresh token"}``,
  a bad client HTTP 401 ``text/plain`` ``{"error":"invalid_client",...}``, as recorded from Fortnox.
- PKCE (S256 or plain) is checked when the authorization request carried a ``code_challenge``.
- ``account_type=service`` needs a client that allows it and a system administrator's consent; then
  ``grant_type=client_credentials`` with a ``TenantId`` header gives access tokens without a user.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, redirect, request

from exporters.fortnox.sandbox.api import sandbox_state
from exporters.fortnox.sandbox.pages import consent_page, error_page
from exporters.fortnox.sandbox.scopes import KNOWN_SCOPES
from exporters.fortnox.sandbox.state import (
    ACCESS_TOKEN_LIFETIME,
    AUTH_CODE_LIFETIME,
    REFRESH_TOKEN_LIFETIME,
    AuthCode,
    Grant,
    OAuthClient,
    SandboxState,
)

bp = Blueprint("fortnox_oauth", __name__, url_prefix="/oauth-v1")

AUTH_PARAMS = (
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "access_type",
    "response_type",
    "account_type",
    "code_challenge",
    "code_challenge_method",
)


class AuthRequestError(Exception):
    """An authorization request that cannot even be redirected back: shown as an error page."""


def _client_redirect(client: OAuthClient, redirect_uri: str | None) -> str:
    if not redirect_uri:
        if not client.redirect_uris:
            raise AuthRequestError("redirect_uri saknas och klienten har ingen registrerad")
        return client.redirect_uris[0]
    parts = urlsplit(redirect_uri)
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    if redirect_uri in client.redirect_uris or (client.allow_loopback and loopback):
        return redirect_uri
    raise AuthRequestError(f"redirect_uri {redirect_uri} är inte registrerad för klienten")


def _back(redirect_uri: str, **params: str) -> Response:
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + separator + urlencode({k: v for k, v in params.items() if v is not None}))


def _check_auth_request(
    state: SandboxState, params: dict[str, str]
) -> tuple[OAuthClient, str, Response | None]:
    """Validate the request; return the client, the redirect URI and an error redirect (or None)."""
    client = state.clients.get(params.get("client_id", ""))
    if client is None:
        raise AuthRequestError("Auth code or ClientID supplied is invalid")
    redirect_uri = _client_redirect(client, params.get("redirect_uri"))
    oauth_state = params.get("state")

    def fail(error: str, description: str) -> tuple[OAuthClient, str, Response]:
        return (
            client,
            redirect_uri,
            _back(redirect_uri, error=error, error_description=description, state=oauth_state),
        )

    if params.get("response_type") != "code":
        return fail("unsupported_response_type", "response_type must be code")
    if not oauth_state:
        return fail("invalid_request", "state is required")
    scopes = params.get("scope", "").split()
    if not scopes or any(s not in KNOWN_SCOPES or s not in client.scopes for s in scopes):
        return fail("invalid_scope", "The requested scope is invalid")
    if params.get("account_type") == "service" and not client.service_accounts:
        return fail("invalid_request", "Client does not allow service account")
    if params.get("code_challenge") and params.get("code_challenge_method", "plain") not in ("S256", "plain"):
        return fail("invalid_request", "code_challenge_method must be S256 or plain")
    return client, redirect_uri, None


@bp.get("/auth")
def authorize() -> Response | tuple[str, int]:
    params = {name: request.args[name] for name in AUTH_PARAMS if name in request.args}
    state = sandbox_state()
    with state.lock:
        try:
            _, _, error = _check_auth_request(state, params)
        except AuthRequestError as exc:
            return error_page(str(exc))
        if error is not None:
            return error
        return consent_page(params)


@bp.post("/auth")
def decide() -> Response | tuple[str, int]:
    params = {name: request.form[name] for name in AUTH_PARAMS if request.form.get(name)}
    state = sandbox_state()
    with state.lock:
        try:
            client, redirect_uri, error = _check_auth_request(state, params)
        except AuthRequestError as exc:
            return error_page(str(exc))
        if error is not None:
            return error
        if request.form.get("decision") == "deny":
            return _back(redirect_uri, error="access_denied", error_description="The user denied access",
                         state=params["state"])  # fmt: skip
        user = state.users.get(request.form.get("email", "").strip().lower())
        if user is None or not hmac.compare_digest(user.password, request.form.get("password", "")):
            return consent_page(params, problem="Fel e-postadress eller lösenord.", status=401)
        tenant = _chosen_tenant(user.tenants, request.form.get("tenant", ""))
        if tenant is None:
            return consent_page(params, user_tenants=[state.tenants[t] for t in user.tenants], email=user.email,
                                 password=request.form.get("password", ""))  # fmt: skip
        service = params.get("account_type") == "service"
        if service and not user.sys_admin:
            return consent_page(params, problem="Endast en systemadministratör kan godkänna ett servicekonto.",
                                 status=403)  # fmt: skip
        code = secrets.token_urlsafe(24)
        scopes = tuple(params["scope"].split())
        state.auth_codes[code] = AuthCode(
            code=code,
            client_id=client.client_id,
            redirect_uri=params.get("redirect_uri"),
            scopes=scopes,
            tenant=tenant,
            user=user.email,
            issued_at=state.clock.now(),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method", "plain"),
            access_type=params.get("access_type", ""),
            service=service,
        )
        if service:
            state.service_consents[(client.client_id, tenant)] = scopes
        return _back(redirect_uri, code=code, state=params["state"])


def _chosen_tenant(tenants: tuple[int, ...], chosen: str) -> int | None:
    if chosen:
        return int(chosen) if chosen.isdigit() and int(chosen) in tenants else None
    return tenants[0] if len(tenants) == 1 else None


# -- token endpoint --------------------------------------------------------------------------------------


def _token_error(status: int, error: str, description: str, content_type: str) -> Response:
    body = json.dumps({"error": error, "error_description": description})
    response = Response(body, status=status, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def invalid_client() -> Response:
    return _token_error(
        401, "invalid_client", "The client credentials are invalid", "text/plain;charset=UTF-8"
    )


def invalid_grant(description: str) -> Response:
    return _token_error(400, "invalid_grant", description, "text/html; charset=UTF-8")


def _basic_client(state: SandboxState) -> OAuthClient | None:
    kind, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client = state.clients.get(client_id)
    if client is None or not hmac.compare_digest(client.client_secret, secret):
        return None
    return client


@bp.post("/token")
def token() -> Response:
    state = sandbox_state()
    with state.lock:
        client = _basic_client(state)
        if client is None:
            return invalid_client()
        grant_type = request.form.get("grant_type", "")
        if grant_type == "authorization_code":
            return _exchange_code(state, client)
        if grant_type == "refresh_token":
            return _refresh(state, client)
        if grant_type == "client_credentials":
            return _client_credentials(state, client)
        return _token_error(
            400, "unsupported_grant_type", "Unsupported grant type", "text/html; charset=UTF-8"
        )


def _exchange_code(state: SandboxState, client: OAuthClient) -> Response:
    code = state.auth_codes.get(request.form.get("code", ""))
    if code is None or code.client_id != client.client_id:
        return invalid_grant("Invalid authorization code")
    if code.used:
        for refresh_token in code.refresh_tokens:  # a replayed code revokes what it gave (RFC 6749 4.1.2)
            state.refresh_tokens[refresh_token].revoked = True
        return invalid_grant("Invalid authorization code")
    code.used = True
    if code.issued_at + AUTH_CODE_LIFETIME <= state.clock.now():
        return invalid_grant("Authorization code has expired")
    if code.redirect_uri is not None and request.form.get("redirect_uri") != code.redirect_uri:
        return invalid_grant("redirect_uri does not match the authorization request")
    if code.code_challenge and not _pkce_ok(code, request.form.get("code_verifier", "")):
        return invalid_grant("Invalid code verifier")
    response, refresh_token = _issue(state, client.client_id, code.tenant, code.user, code.scopes)
    code.refresh_tokens.append(refresh_token)
    return response


def _pkce_ok(code: AuthCode, verifier: str) -> bool:
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        expected = verifier
    return bool(verifier) and hmac.compare_digest(expected, code.code_challenge or "")


def _refresh(state: SandboxState, client: OAuthClient) -> Response:
    grant = state.refresh_tokens.get(request.form.get("refresh_token", ""))
    if (
        grant is None
        or grant.used
        or grant.revoked
        or grant.client_id != client.client_id
        or grant.expires_at <= state.clock.now()
    ):
        return invalid_grant("Invalid refresh token")
    grant.used = True
    response, _ = _issue(state, client.client_id, grant.tenant, grant.user, grant.scopes)
    return response


def _client_credentials(state: SandboxState, client: OAuthClient) -> Response:
    tenant_id = request.headers.get("TenantId", "")
    scopes = state.service_consents.get((client.client_id, int(tenant_id))) if tenant_id.isdigit() else None
    if scopes is None:
        return invalid_grant("No service account consent for this tenant")
    response, _ = _issue(state, client.client_id, int(tenant_id), "", scopes, refresh=False)
    return response


def _issue(
    state: SandboxState, client_id: str, tenant: int, user: str, scopes: tuple[str, ...], refresh: bool = True
) -> tuple[Response, str]:
    now = state.clock.now()
    access_token = _jwt(
        {
            "tenantId": tenant,
            "userId": state.users[user].id if user in state.users else "service",
            "clientId": client_id,
            "scope": " ".join(scopes),
            "iat": int(now.timestamp()),
            "exp": int((now + ACCESS_TOKEN_LIFETIME).timestamp()),
            "jti": secrets.token_hex(8),
        }
    )
    state.access_tokens[access_token] = Grant(client_id, tenant, user, scopes, now + ACCESS_TOKEN_LIFETIME)
    body: dict[str, Any] = {
        "access_token": access_token,
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "token_type": "bearer",
        "scope": " ".join(scopes),
    }
    refresh_token = ""
    if refresh:
        refresh_token = secrets.token_hex(20)  # opaque, 40 characters
        state.refresh_tokens[refresh_token] = Grant(
            client_id, tenant, user, scopes, now + REFRESH_TOKEN_LIFETIME
        )
        body["refresh_token"] = refresh_token
    response = Response(json.dumps(body), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response, refresh_token


_JWT_KEY = secrets.token_bytes(32)


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = part(b'{"alg":"HS256","typ":"JWT"}') + "." + part(json.dumps(claims).encode())
    signature = hmac.new(_JWT_KEY, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + part(signature)


@bp.post("/revoke")
def revoke() -> Response:
    state = sandbox_state()
    with state.lock:
        client = _basic_client(state)
        if client is None:
            return invalid_client()
        grant = state.refresh_tokens.get(request.form.get("token", ""))
        if grant is not None and grant.client_id == client.client_id:
            grant.revoked = True
        return Response(json.dumps({"revoked": True}), mimetype="application/json")
