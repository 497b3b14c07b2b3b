"""What Fortnox's and Visma's clients both do with a request that got no answer, or a 401: the part of
the translation into the shared error tree (exporters.core.errors) that does not depend on the system.

A request that never reached the server is safe to repeat (RetryLater); one that may have reached it is
safe to repeat only when its method is (GET, HEAD, OPTIONS); a POST or PUT may have been done, so it
raises OutcomeUnknown and the caller reconciles before sending again.
"""

from __future__ import annotations

import httpx

from exporters.core.errors import OutcomeUnknown, RetryLater


class Unauthorized(Exception):
    """Internal: the API said 401 to an access token. The client refreshes once, then raises Reconnect."""


def is_safe(method: str) -> bool:
    """Whether a request with ``method`` is harmless to repeat."""
    return method.upper() in ("GET", "HEAD", "OPTIONS")


def translate_transport_error(exc: httpx.TransportError, service: str, method: str, path: str) -> RetryLater:
    """The error to raise (``from exc``) when no answer came from ``service`` ("Fortnox") to ``method``
    ``path``: could the request have been done there?"""
    what = f"{service} {method} {path}".rstrip()
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return RetryLater(f"{what}: could not reach {service} ({type(exc).__name__}: {exc})")
    if is_safe(method):
        return RetryLater(f"{what}: no answer from {service} ({type(exc).__name__}: {exc})")
    return OutcomeUnknown(
        f"{what}: sent, but no answer came ({type(exc).__name__}: {exc})",
        fix=f"Dagskassa looks for it in {service} before it sends it again",
    )
