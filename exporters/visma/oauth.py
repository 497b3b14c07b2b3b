"""Visma OAuth2 against its identity server: authorization code with ``state`` and PKCE (S256), single-use
refresh tokens, revocation.

Authlib's sans-I/O functions build and parse the messages; our own ``httpx.Client`` carries them. Token
requests are form-encoded with HTTP Basic client authentication (Visma's own sample; the body form works
too). A refresh answered with ``invalid_grant`` means the refresh token is dead (used already, revoked, or
the user changed password): a person must connect again (:class:`~exporters.core.errors.Reconnect`).
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

from config.settings import VismaSettings
from exporters.core.errors import FixData, Reconnect, RetryLater
from exporters.tokens import TokenSet, token_set_from_response, utc_now
from exporters.visma.errors import RECONNECT_FIX, parse_error_body, raise_for_response

#: ``ea:api`` and ``offline_access`` are required by Visma; ``ea:accounting`` posts vouchers and reads the
#: chart; ``ea:sales_readonly`` is needed only for GET /companysettings, where the lock date lives
#: (FACTS.md section 1: that endpoint takes no accounting scope).
SCOPES = ("ea:api", "ea:accounting", "ea:sales_readonly", "offline_access")

CLIENT_FIX = (
    "the Visma client id or secret in the settings is wrong (visma.client_id, visma.client_secret): copy "
    "them again from Visma's developer portal"
)


@dataclass(frozen=True)
class AuthorizationRequest:
    """What to keep (in the session) between sending the browser to Visma and its return."""

    url: str
    state: str
    code_verifier: str
    redirect_uri: str


class AuthorizationDenied(FixData):
    """The person declined on Visma's page, or the callback does not belong to our request."""


class VismaOAuth:
    """The OAuth2 client of one Visma app (client id and secret), over an injected httpx.Client."""

    def __init__(
        self,
        http: httpx.Client,
        client_id: str,
        client_secret: str,
        identity_url: str = "https://identity.vismaonline.com",
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.http = http
        self.client_id = client_id
        self.identity_url = identity_url.rstrip("/")
        self._client_auth = ClientAuth(client_id, client_secret, "client_secret_basic")
        self._now = now

    @classmethod
    def from_settings(
        cls, http: httpx.Client, settings: VismaSettings, now: Callable[[], datetime] = utc_now
    ) -> VismaOAuth:
        return cls(http, settings.client_id, settings.client_secret, settings.identity_url, now)

    def authorization_url(
        self,
        redirect_uri: str,
        scopes: Iterable[str] = SCOPES,
        state: str | None = None,
        prompt: str | None = None,
    ) -> AuthorizationRequest:
        """Where to send the browser (``prompt="login"`` forces choosing the company again)."""
        state = state or generate_token(32)
        code_verifier = generate_token(64)
        url = prepare_grant_uri(
            f"{self.identity_url}/connect/authorize",
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=" ".join(scopes),
            state=state,
            prompt=prompt,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
        return AuthorizationRequest(url, state, code_verifier, redirect_uri)

    def exchange_code(self, callback_url: str, request: AuthorizationRequest) -> TokenSet:
        """Turn the redirect back from Visma into tokens. Checks ``state`` before anything else."""
        params = dict(httpx.QueryParams(urlsplit(callback_url).query))
        if "error" in params and "code" not in params:
            raise AuthorizationDenied(
                f"Visma did not grant access: {params.get('error_description') or params['error']}",
                "start the connection again and approve it on Visma's page",
            )
        try:
            parsed = parse_authorization_code_response(callback_url, state=request.state)
        except MismatchingStateException as exc:
            raise AuthorizationDenied(
                "the answer from Visma does not belong to this connection attempt (state mismatch)",
                "start the connection again from the settings page",
            ) from exc
        except MissingCodeException as exc:
            raise AuthorizationDenied(
                "the answer from Visma has no authorization code", "start again"
            ) from exc
        if parsed.get("state") != request.state:
            raise AuthorizationDenied(
                "the answer from Visma does not belong to this connection attempt (state missing)",
                "start the connection again from the settings page",
            )
        body = prepare_token_request(
            "authorization_code",
            code=parsed["code"],
            redirect_uri=request.redirect_uri,
            code_verifier=request.code_verifier,
        )
        return self._token_request(body)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """A new pair for ``tokens``; Visma kills the old refresh token. Call it only through
        :meth:`TokenStore.refresh`, which runs it once per connection and saves the new pair at once."""
        fresh = self._token_request(
            prepare_token_request("refresh_token", refresh_token=tokens.refresh_token)
        )
        return fresh if fresh.scopes else replace(fresh, scopes=tokens.scopes)

    def revoke(self, tokens: TokenSet) -> None:
        body, headers = prepare_revoke_token_request(tokens.refresh_token, "refresh_token")
        self._post(f"{self.identity_url}/connect/revocation", body, headers)

    def _token_request(self, body: str) -> TokenSet:
        sent_at = self._now()
        response = self._post(
            f"{self.identity_url}/connect/token", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        try:
            return token_set_from_response(response.json(), sent_at)
        except (ValueError, KeyError, TypeError) as exc:
            raise RetryLater(f"Visma's token endpoint answered something unreadable: {exc}") from exc

    def _post(self, url: str, body: str, headers: dict[str, str]) -> httpx.Response:
        url, headers, body = self._client_auth.prepare("POST", url, dict(headers), body)
        headers["Accept"] = "application/json"
        try:
            response = self.http.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            # A refresh whose answer was lost may have rotated the token at Visma; the next attempt then
            # meets invalid_grant and asks for a reconnect. Nothing better is possible without a grace period.
            raise RetryLater(f"no answer from Visma's {url} ({type(exc).__name__}: {exc})") from exc
        if response.status_code in (400, 401):
            error = parse_error_body(response.content)
            if error.oauth_error == "invalid_client" or response.status_code == 401:
                raise Reconnect(f"Visma refused the app's credentials: {error.message}", CLIENT_FIX)
            if error.oauth_error in (
                "invalid_grant",
                "invalid_request",
                "unauthorized_client",
                "invalid_scope",
            ):
                raise Reconnect(
                    f"Visma refused the authorization: {error.message} ({error.oauth_error})", RECONNECT_FIX
                )
        raise_for_response(response)
        return response
