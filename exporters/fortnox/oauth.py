"""Fortnox OAuth2: the authorization code flow with ``state`` and PKCE (S256), refresh and revoke.

Authlib's sans-I/O functions build and parse the messages; our own ``httpx.Client`` carries them, so
tests swap the transport (the sandbox through ``httpx.WSGITransport`` or on 127.0.0.1). The token and
revoke endpoints take HTTP Basic client authentication, as Fortnox requires (FACTS.md section 1).

Fortnox answers a dead refresh token with 400 ``invalid_grant`` (in a text/html body): the connection
then needs a person to connect again, which :class:`~exporters.core.errors.Reconnect` says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.errors import MismatchingStateException, MissingCodeException
from authlib.oauth2.rfc6749.parameters import (
    parse_authorization_code_response,
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7009.parameters import prepare_revoke_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from config.settings import FortnoxSettings
from exporters.core.errors import FixData, Reconnect, RetryLater
from exporters.fortnox.errors import parse_error_body, raise_for_response
from exporters.fortnox.tokens import RECONNECT_FIX, TokenSet, token_set_from_response, utc_now

#: What Dagskassa needs for vouchers and preflight; invoicing adds INVOICING_SCOPES.
BOOKKEEPING_SCOPES = ("bookkeeping", "costcenter", "companyinformation", "settings")
INVOICING_SCOPES = ("invoice", "order", "customer")

CLIENT_FIX = (
    "the Fortnox client id or secret in the settings is wrong (fortnox.client_id, fortnox.client_secret): "
    "copy them again from Fortnox's developer portal"
)


def scopes_needed(invoicing: bool) -> tuple[str, ...]:
    return BOOKKEEPING_SCOPES + (INVOICING_SCOPES if invoicing else ())


@dataclass(frozen=True)
class AuthorizationRequest:
    """What to keep (in the session) between sending the browser to Fortnox and its return."""

    url: str
    state: str
    code_verifier: str
    redirect_uri: str


class AuthorizationDenied(FixData):
    """The person declined in Fortnox, or the callback does not belong to our request."""


class FortnoxOAuth:
    """The OAuth2 client of one Fortnox app (client id and secret), over an injected httpx.Client."""

    def __init__(
        self,
        http: httpx.Client,
        client_id: str,
        client_secret: str,
        auth_url: str = "https://apps.fortnox.se/oauth-v1",
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.http = http
        self.client_id = client_id
        self.auth_url = auth_url.rstrip("/")
        self._client_auth = ClientAuth(client_id, client_secret, "client_secret_basic")
        self._now = now

    @classmethod
    def from_settings(
        cls, http: httpx.Client, settings: FortnoxSettings, now: Callable[[], datetime] = utc_now
    ) -> FortnoxOAuth:
        return cls(http, settings.client_id, settings.client_secret, settings.auth_url, now)

    def authorization_url(
        self,
        redirect_uri: str,
        scopes: Iterable[str],
        service_account: bool = False,
        state: str | None = None,
    ) -> AuthorizationRequest:
        """Where to send the browser. Keep the returned request: :meth:`exchange_code` needs it."""
        state = state or generate_token(32)
        code_verifier = generate_token(64)
        url = prepare_grant_uri(
            f"{self.auth_url}/auth",
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=" ".join(scopes),
            state=state,
            access_type="offline",
            account_type="service" if service_account else None,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
        return AuthorizationRequest(url, state, code_verifier, redirect_uri)

    def exchange_code(self, callback_url: str, request: AuthorizationRequest) -> TokenSet:
        """Turn the redirect back from Fortnox into tokens. Checks ``state`` before anything else."""
        params = dict(httpx.QueryParams(urlsplit(callback_url).query))
        if "error" in params and "code" not in params:
            raise AuthorizationDenied(
                f"Fortnox did not grant access: {params.get('error_description') or params.get('error')}",
                "start the connection again and approve it in Fortnox (as a Fortnox administrator)",
            )
        try:
            params = parse_authorization_code_response(callback_url, state=request.state)
        except MismatchingStateException as exc:
            raise AuthorizationDenied(
                "the answer from Fortnox does not belong to this connection attempt (state mismatch)",
                "start the connection again from the settings page",
            ) from exc
        except MissingCodeException as exc:
            raise AuthorizationDenied(
                "the answer from Fortnox has no authorization code", "start the connection again"
            ) from exc
        if params.get("state") != request.state:
            raise AuthorizationDenied(
                "the answer from Fortnox does not belong to this connection attempt (state missing)",
                "start the connection again from the settings page",
            )
        body = prepare_token_request(
            "authorization_code",
            code=params["code"],
            redirect_uri=request.redirect_uri,
            code_verifier=request.code_verifier,
        )
        return self._token_request(body)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """A new pair for ``tokens`` (Fortnox kills the old refresh token). Call it only through
        :meth:`TokenStore.refresh`, which makes sure it runs once and the new pair is saved."""
        fresh = self._token_request(
            prepare_token_request("refresh_token", refresh_token=tokens.refresh_token)
        )
        return fresh if fresh.scopes else replace(fresh, scopes=tokens.scopes)

    def revoke(self, tokens: TokenSet) -> None:
        """Revoke the refresh token (Fortnox cannot revoke access tokens; they die within the hour)."""
        body, headers = prepare_revoke_token_request(tokens.refresh_token, "refresh_token")
        self._post(f"{self.auth_url}/revoke", body, headers)

    def _token_request(self, body: str) -> TokenSet:
        sent_at = self._now()
        response = self._post(
            f"{self.auth_url}/token", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        try:
            data = response.json()
            return token_set_from_response(data, sent_at)
        except (ValueError, KeyError, TypeError) as exc:
            raise RetryLater(f"Fortnox's token endpoint answered something unreadable: {exc}") from exc

    def _post(self, url: str, body: str, headers: dict[str, str]) -> httpx.Response:
        url, headers, body = self._client_auth.prepare("POST", url, dict(headers), body)
        headers["Accept"] = "application/json"
        try:
            response = self.http.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            # If the answer to a refresh was lost, Fortnox may have rotated the token; the next attempt
            # then meets invalid_grant and asks for a reconnect. Nothing better is possible.
            raise RetryLater(f"no answer from Fortnox's {url} ({type(exc).__name__}: {exc})") from exc
        if response.status_code in (400, 401):
            error = parse_error_body(response.content)
            if error.oauth_error == "invalid_client" or response.status_code == 401:
                raise Reconnect(f"Fortnox refused the app's credentials: {error.message}", CLIENT_FIX)
            if error.oauth_error in ("invalid_grant", "invalid_request", "unauthorized_client"):
                raise Reconnect(
                    f"Fortnox refused the authorization: {error.message} ({error.oauth_error})",
                    RECONNECT_FIX,
                )
        raise_for_response(response)
        return response
