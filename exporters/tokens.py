"""An accounting system connection's OAuth2 tokens, and the store that refreshes them once at a time.

Fortnox's and Visma's refresh tokens are single use: the refresh that rotates them must happen once per
connection at a time, and the new pair must be stored before the old one is forgotten, or the connection
dies (a person must reconnect). :class:`TokenStore` is the seam that guarantees it. The BackOffice
implements it over its database (``SELECT … FOR UPDATE`` on the connection row); :class:`InMemoryTokenStore`
serves tests and single-process tools.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, Self, TypeVar, runtime_checkable

from exporters.core.errors import Reconnect

#: An access token this close to its expiry is refreshed before use rather than after a 401.
EXPIRY_MARGIN = timedelta(seconds=60)
RECONNECT_FIX = "an administrator must connect Dagskassa again from the settings page"


@dataclass(frozen=True)
class TokenSet:
    """One access/refresh token pair as the token endpoint issued it. Times are aware (UTC)."""

    access_token: str
    refresh_token: str
    #: When the access token dies (issued + expires_in, 1 hour at Fortnox and Visma).
    expires_at: datetime
    #: When the refresh token was issued.
    issued_at: datetime
    scopes: frozenset[str] = field(default_factory=frozenset)

    def access_expired(self, now: datetime) -> bool:
        return now >= self.expires_at - EXPIRY_MARGIN

    def to_json(self) -> str:
        """The form to encrypt and store (see :class:`exporters.fortnox.crypto.TokenCipher`)."""
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at.isoformat(),
                "issued_at": self.issued_at.isoformat(),
                "scopes": sorted(self.scopes),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Self:
        data = json.loads(text)
        return cls(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            expires_at=datetime.fromisoformat(data["expires_at"]),
            issued_at=datetime.fromisoformat(data["issued_at"]),
            scopes=frozenset(data.get("scopes", ())),
        )


T = TypeVar("T", bound=TokenSet)


@runtime_checkable
class TokenStore(Protocol):
    """Where one connection's tokens live. Every method is safe to call from many threads and,
    for a database-backed store, from many processes.

    ``connection_key``
        Names the connection (tenant) for the rate limiter and logs; stable across token refreshes.

    ``load() -> TokenSet``
        The current pair. Raises :class:`~exporters.core.errors.Reconnect` when the connection has no
        tokens or is marked as needing a reconnect.

    ``refresh(stale, do_refresh) -> TokenSet``
        Replace ``stale`` exactly once, under a lock held for the connection (a DB row lock,
        ``SELECT … FOR UPDATE``) for the whole of these steps:

        1. Re-read the stored pair. If the connection is marked for reconnect, raise ``Reconnect``.
        2. If its refresh token differs from ``stale.refresh_token``, someone else already refreshed:
           return the stored pair without calling ``do_refresh``.
        3. Else call ``do_refresh(stored)`` (it asks the token endpoint) and save the pair it returns *before*
           releasing the lock (same transaction), then return it.
        4. If ``do_refresh`` raises ``Reconnect`` (the server said ``invalid_grant``: the refresh token is
           dead), record that the connection needs a reconnect (so ``load`` raises from then on),
           commit that, and re-raise. Never retry: a dead refresh token stays dead.
        Any other exception from ``do_refresh`` leaves the stored pair unchanged and propagates.

    ``replace(tokens)``
        Store a pair from a new authorization (the OAuth callback); clears the reconnect mark.
    """

    connection_key: str

    def load(self) -> TokenSet: ...

    def refresh(self, stale: TokenSet, do_refresh: Callable[[TokenSet], TokenSet]) -> TokenSet: ...

    def replace(self, tokens: TokenSet) -> None: ...


class InMemoryTokenStore:
    """A :class:`TokenStore` in memory, safe across threads of one process. ``service`` and
    ``reconnect_fix`` name the accounting system in its Reconnect errors."""

    service = "accounting system"
    reconnect_fix = RECONNECT_FIX

    def __init__(self, connection_key: str, tokens: TokenSet | None = None) -> None:
        self.connection_key = connection_key
        self._tokens = tokens
        self._lock = threading.Lock()
        self.reconnect_reason: str | None = None
        #: How many times ``do_refresh`` ran (what the single-flight tests count).
        self.refresh_count = 0

    def load(self) -> TokenSet:
        with self._lock:
            return self._current()

    def refresh(self, stale: TokenSet, do_refresh: Callable[[TokenSet], TokenSet]) -> TokenSet:
        with self._lock:
            stored = self._current()
            if stored.refresh_token != stale.refresh_token:
                return stored
            self.refresh_count += 1
            try:
                fresh = do_refresh(stored)
            except Reconnect as exc:
                self.reconnect_reason = str(exc)
                raise
            self._tokens = fresh
            return fresh

    def replace(self, tokens: TokenSet) -> None:
        with self._lock:
            self._tokens = tokens
            self.reconnect_reason = None

    def _current(self) -> TokenSet:
        if self.reconnect_reason is not None:
            raise Reconnect(
                f"the {self.service} connection {self.connection_key} needs to be connected again "
                f"({self.reconnect_reason})",
                self.reconnect_fix,
            )
        if self._tokens is None:
            raise Reconnect(
                f"the {self.service} connection {self.connection_key} is not connected", self.reconnect_fix
            )
        return self._tokens


def token_set_from_response(data: dict[str, object], now: datetime, token_type: type[T] = TokenSet) -> T:
    """A :class:`TokenSet` (or ``token_type``) from the token endpoint's JSON answer, received at ``now``."""
    expires_in = int(str(data.get("expires_in", 3600)))
    scope = data.get("scope") or ""
    return token_type(
        access_token=str(data["access_token"]),
        refresh_token=str(data["refresh_token"]),
        expires_at=now + timedelta(seconds=expires_in),
        issued_at=now,
        scopes=frozenset(str(scope).split()),
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
