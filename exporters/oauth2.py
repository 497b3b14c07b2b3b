"""The OAuth2 authorization code flow with ``state`` and PKCE (S256), single-use refresh tokens and
revocation, as Fortnox and Visma both run it.

Authlib's sans-I/O functions build and parse the messages; our own ``httpx.Client`` carries them, so tests
swap the transport (a sandbox through ``httpx.WSGITransport`` or on 127.0.0.1). Token and revoke requests
are form-encoded with HTTP Basic client authentication. Each accounting system subclasses
:class:`OAuth2Client` with its endpoints, its error parsing and the fixes its messages give; a refresh
answered with ``invalid_grant`` means the refresh token is dead and a person must connect again
(:class:`~exporters.core.errors.Reconnect`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Protocol
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

from exporters.core.errors import FixData, Reconnect, RetryLater
from exporters.tokens import TokenSet, token_set_from_response, utc_now


@dataclass(frozen=True)
class AuthorizationRequest:
    """What to keep (in the session) between sending the browser to the identity server and its return."""

    url: str
    state: str
    code_verifier: str
    redirect_uri: str


class AuthorizationDenied(FixData):
    """The person declined on the identity server's page, or the callback does not belong to our request."""


class OAuthErrorBody(Protocol):
    """What an error answer from the token or revoke endpoint says (each system's ``parse_error_body``)."""

    @property
    def oauth_error(self) -> str | None: ...

    @property
    def message(self) -> str: ...


class OAuth2Client:
    """The OAuth2 client of one app (client id and secret) at one identity server, over an injected
    httpx.Client. Subclasses set the class attributes below."""

    #: The accounting system's name as messages say it ("Fortnox").
    service: ClassVar[str]
    default_base_url: ClassVar[str]
    authorize_path: ClassVar[str]
    token_path: ClassVar[str]
    revoke_path: ClassVar[str]
    #: What to do when the client id or secret is refused, and when the authorization is dead.
    client_fix: ClassVar[str]
    reconnect_fix: ClassVar[str]
    #: What to do when the person declined, and when the callback carries no code.
    declined_fix: ClassVar[str]
    missing_code_fix: ClassVar[str]
    #: OAuth ``error`` values from the token endpoint that mean a person must connect again.
    reconnect_errors: ClassVar[frozenset[str]] = frozenset(
        {"invalid_grant", "invalid_request", "unauthorized_client"}
    )
    token_type: ClassVar[type[TokenSet]] = TokenSet

    def __init__(
        self,
        http: httpx.Client,
        client_id: str,
        client_secret: str,
        base_url: str | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.http = http
        self.client_id = client_id
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self._client_auth = ClientAuth(client_id, client_secret, "client_secret_basic")
        self._now = now

    @staticmethod
    def parse_error_body(body: bytes) -> OAuthErrorBody:
        raise NotImplementedError

    @staticmethod
    def raise_for_response(response: httpx.Response) -> None:
        raise NotImplementedError

    def _authorization_url(
        self, redirect_uri: str, scopes: Iterable[str], state: str | None, **extra: Any
    ) -> AuthorizationRequest:
        """Where to send the browser, with ``extra`` query parameters (None ones left out)."""
        state = state or generate_token(32)
        code_verifier = generate_token(64)
        url = prepare_grant_uri(
            f"{self.base_url}{self.authorize_path}",
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=" ".join(scopes),
            state=state,
            **extra,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
        return AuthorizationRequest(url, state, code_verifier, redirect_uri)

    def exchange_code(self, callback_url: str, request: AuthorizationRequest) -> TokenSet:
        """Turn the redirect back from the identity server into tokens. Checks ``state`` before anything
        else."""
        service = self.service
        params = dict(httpx.QueryParams(urlsplit(callback_url).query))
        if "error" in params and "code" not in params:
            raise AuthorizationDenied(
                f"{service} did not grant access: {params.get('error_description') or params['error']}",
                self.declined_fix,
            )
        try:
            params = parse_authorization_code_response(callback_url, state=request.state)
        except MismatchingStateException as exc:
            raise AuthorizationDenied(
                f"the answer from {service} does not belong to this connection attempt (state mismatch)",
                "start the connection again from the settings page",
            ) from exc
        except MissingCodeException as exc:
            raise AuthorizationDenied(
                f"the answer from {service} has no authorization code", self.missing_code_fix
            ) from exc
        if params.get("state") != request.state:
            raise AuthorizationDenied(
                f"the answer from {service} does not belong to this connection attempt (state missing)",
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
        """A new pair for ``tokens`` (the old refresh token dies). Call it only through
        :meth:`TokenStore.refresh`, which runs it once per connection and saves the new pair at once."""
        fresh = self._token_request(
            prepare_token_request("refresh_token", refresh_token=tokens.refresh_token)
        )
        return fresh if fresh.scopes else replace(fresh, scopes=tokens.scopes)

    def revoke(self, tokens: TokenSet) -> None:
        """Revoke the refresh token."""
        body, headers = prepare_revoke_token_request(tokens.refresh_token, "refresh_token")
        self._post(f"{self.base_url}{self.revoke_path}", body, headers)

    def _token_request(self, body: str) -> TokenSet:
        sent_at = self._now()
        response = self._post(
            f"{self.base_url}{self.token_path}", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        try:
            return token_set_from_response(response.json(), sent_at, self.token_type)
        except (ValueError, KeyError, TypeError) as exc:
            raise RetryLater(f"{self.service}'s token endpoint answered something unreadable: {exc}") from exc

    def _post(self, url: str, body: str, headers: dict[str, str]) -> httpx.Response:
        url, headers, body = self._client_auth.prepare("POST", url, dict(headers), body)
        headers["Accept"] = "application/json"
        try:
            response = self.http.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            # If the answer to a refresh was lost, the server may have rotated the token; the next attempt
            # then meets invalid_grant and asks for a reconnect. Nothing better is possible.
            raise RetryLater(f"no answer from {self.service}'s {url} ({type(exc).__name__}: {exc})") from exc
        if response.status_code in (400, 401):
            error = self.parse_error_body(response.content)
            if error.oauth_error == "invalid_client" or response.status_code == 401:
                raise Reconnect(
                    f"{self.service} refused the app's credentials: {error.message}", self.client_fix
                )
            if error.oauth_error in self.reconnect_errors:
                raise Reconnect(
                    f"{self.service} refused the authorization: {error.message} ({error.oauth_error})",
                    self.reconnect_fix,
                )
        self.raise_for_response(response)
        return response
