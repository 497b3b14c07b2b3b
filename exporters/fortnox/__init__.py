"""Fortnox: OAuth2, the API client, preflight checks, and (in ``sandbox/``) a faithful local Fortnox.

The client's public names are importable from here; they load on first use, so ``dagskassa --help``
(which imports ``exporters.fortnox.cli``) does not pay for httpx, Authlib and cryptography.

- ``oauth``: :class:`FortnoxOAuth` (authorization URL with state and PKCE, code exchange, refresh, revoke)
- ``tokens``: :class:`TokenSet`, the :class:`TokenStore` protocol, :class:`InMemoryTokenStore`
- ``crypto``: :class:`TokenCipher` (tokens at rest, key rotation)
- ``limiter``: :class:`SlidingWindowLimiter`, :class:`LimiterRegistry` (25 requests / 5 s per connection)
- ``client``: :class:`FortnoxClient` (vouchers, reconcile by marker, customers, invoices, orders)
- ``provider``: :class:`FortnoxSession` and :func:`open_session`, Fortnox behind ``exporters.providers``
- ``bodies``: the request bodies built from the core's voucher and invoice sales
- ``preflight``: :func:`run_preflight` (results are :class:`exporters.providers.CheckResult`)
- ``errors``: Fortnox's answers into the shared error tree (exporters.core.errors)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FortnoxOAuth": "oauth",
    "AuthorizationRequest": "oauth",
    "AuthorizationDenied": "oauth",
    "scopes_needed": "oauth",
    "TokenSet": "tokens",
    "TokenStore": "tokens",
    "InMemoryTokenStore": "tokens",
    "TokenCipher": "crypto",
    "CannotDecrypt": "crypto",
    "SlidingWindowLimiter": "limiter",
    "LimiterRegistry": "limiter",
    "FortnoxClient": "client",
    "FinancialYear": "client",
    "run_preflight": "preflight",
    "FortnoxSession": "provider",
    "open_session": "provider",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
