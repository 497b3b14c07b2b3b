"""A Fortnox connection's tokens: the shared :mod:`exporters.tokens` with Fortnox's facts.

Fortnox refresh tokens are single use and die 45 days after they were issued; a dead one means a Fortnox
administrator must connect again (:data:`RECONNECT_FIX`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from exporters import tokens
from exporters.tokens import EXPIRY_MARGIN, TokenStore, utc_now

__all__ = [
    "EXPIRY_MARGIN",
    "RECONNECT_FIX",
    "REFRESH_TOKEN_LIFETIME",
    "InMemoryTokenStore",
    "TokenSet",
    "TokenStore",
    "token_set_from_response",
    "utc_now",
]

#: Fortnox kills a refresh token 45 days after it was issued (calls do not extend it).
REFRESH_TOKEN_LIFETIME = timedelta(days=45)
RECONNECT_FIX = (
    "a Fortnox administrator must connect Dagskassa again: Settings > Fortnox > Connect, then approve "
    "the permissions in Fortnox"
)


class TokenSet(tokens.TokenSet):
    """One access/refresh token pair as Fortnox issued it; the refresh token dies 45 days after
    ``issued_at``."""

    @property
    def refresh_expires_at(self) -> datetime:
        return self.issued_at + REFRESH_TOKEN_LIFETIME


class InMemoryTokenStore(tokens.InMemoryTokenStore):
    """A :class:`TokenStore` in memory whose Reconnect errors name Fortnox."""

    service = "Fortnox"
    reconnect_fix = RECONNECT_FIX


def token_set_from_response(data: dict[str, object], now: datetime) -> TokenSet:
    """A Fortnox :class:`TokenSet` from the token endpoint's JSON answer, received at ``now``."""
    return tokens.token_set_from_response(data, now, TokenSet)
