"""The one request path of an accounting system's API client, as Fortnox's and Visma's share it.

Every call takes a slot of the rate limiter, a Bearer token from the :class:`~exporters.tokens.TokenStore`
(refreshed before it expires, and once after a 401), then has its answer translated into the shared error
tree by the system's ``raise_for_response``. GETs are repeated on 429, 5xx and network errors, a few times
with backoff; POSTs never are: an unanswered one raises OutcomeUnknown and the caller reconciles. Bodies
go out through :func:`exporters.jsonmoney.encode_json`; answers are read with ``Decimal`` numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol

import httpx

from exporters.core.errors import OutcomeUnknown, Reconnect, RetryLater
from exporters.http_errors import Unauthorized
from exporters.jsonmoney import encode_json
from exporters.metrics import count_call, count_refresh
from exporters.tokens import TokenSet, TokenStore

#: Seconds between attempts of a GET when the server gives no wait.
GET_BACKOFF = (1.0, 3.0)


class Refresher(Protocol):
    def refresh(self, tokens: TokenSet) -> TokenSet: ...


class ApiClient:
    """The request path of one connection. A subclass sets ``service``, ``reconnect_fix`` and
    ``raise_for_response``, and says which limiter slot a path takes (:meth:`_slot`) and what a request
    that got no answer raises (:meth:`_no_answer`)."""

    #: The accounting system's name as messages say it ("Fortnox").
    service: ClassVar[str]
    #: The fix when even a fresh access token is refused.
    reconnect_fix: ClassVar[str]

    def __init__(
        self,
        http: httpx.Client,
        tokens: TokenStore,
        oauth: Refresher,
        api_url: str,
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
        get_attempts: int,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.oauth = oauth
        self.api_url = api_url.rstrip("/")
        self._now = now
        self._sleep = sleep
        self.get_attempts = get_attempts

    @staticmethod
    def raise_for_response(response: httpx.Response) -> None:
        raise NotImplementedError

    def _slot(self, path: str) -> AbstractContextManager[object]:
        """The rate limiter's slot a request to ``path`` waits for and holds."""
        raise NotImplementedError

    def _no_answer(self, exc: httpx.TransportError, method: str, path: str) -> RetryLater:
        """The error to raise (``from exc``) when ``method`` ``path`` got no answer."""
        raise NotImplementedError

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET with retries on 429, 5xx and network errors (a GET is harmless to repeat)."""
        for attempt in range(self.get_attempts):
            try:
                return self._authorized("GET", path, params, None)
            except OutcomeUnknown:
                raise
            except RetryLater as exc:
                if attempt + 1 >= self.get_attempts:
                    raise
                pause = exc.retry_after if exc.retry_after is not None else GET_BACKOFF[min(attempt, 1)]
                # Logged as the subclass's module, where the old per-system clients logged it.
                logging.getLogger(type(self).__module__).info(
                    "GET %s: %s; again in %.1f s", path, exc.message, pause
                )
                self._sleep(pause)
        raise AssertionError("unreachable")

    def post(
        self, path: str, body: Mapping[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST once. A 401 is answered by one token refresh and one resend (the server did nothing)."""
        return self._authorized("POST", path, params, encode_json(body))

    def post_content(
        self, path: str, content: bytes, content_type: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST a body that is not JSON (a multipart file upload) once, as :meth:`post` does."""
        return self._authorized("POST", path, params, content, content_type)

    def _authorized(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        tokens = self.tokens.load()
        if tokens.access_expired(self._now()):
            tokens = self._refresh(tokens)
        try:
            return self._send(method, path, params, content, tokens, content_type)
        except Unauthorized:
            tokens = self._refresh(tokens)
        try:
            return self._send(method, path, params, content, tokens, content_type)
        except Unauthorized as exc:
            raise Reconnect(
                f"{self.service} refuses a fresh access token: {exc}", self.reconnect_fix
            ) from exc

    def _refresh(self, stale: TokenSet) -> TokenSet:
        def refresh(tokens: TokenSet) -> TokenSet:
            # Counted here, not around tokens.refresh: only a call to the token endpoint is a refresh
            # (the store returns another worker's fresh pair without one).
            try:
                fresh = self.oauth.refresh(tokens)
            except Exception:
                count_refresh(self.service.lower(), ok=False)
                raise
            count_refresh(self.service.lower(), ok=True)
            return fresh

        return self.tokens.refresh(stale, refresh)

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        tokens: TokenSet,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = content_type
        with self._slot(path):
            try:
                response = self.http.request(
                    method, self.api_url + path, params=dict(params or {}), content=content, headers=headers
                )
            except httpx.TransportError as exc:
                count_call(self.service.lower(), self.tokens.connection_key, None)
                raise self._no_answer(exc, method, path) from exc
        count_call(self.service.lower(), self.tokens.connection_key, response.status_code)
        self.raise_for_response(response)
        if not response.content:
            return {}
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            error = RetryLater if method == "GET" else OutcomeUnknown
            raise error(f"{self.service} {method} {path} answered non-JSON: {response.text[:200]}") from exc
