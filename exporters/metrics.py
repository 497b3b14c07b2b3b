"""What the accounting systems' API clients count for /metrics: every call per tenant and how it ended,
and every token refresh. prometheus-client counters in its default registry (in multiprocess mode when
``PROMETHEUS_MULTIPROC_DIR`` was set before this module was first imported, as ``dagskassa serve`` does
for itself and the worker and scheduler it starts); the BackOffice serves them.

A tenant is the connection key of the client's token store (``fortnox-tenant:<company>``): one per
accounting company, a few hundred at most, so a label per tenant is affordable.
"""

from __future__ import annotations

from prometheus_client import Counter

#: How a call ended, by its status code (None: no answer came).
OK, RATE_LIMITED, UNAUTHORIZED, CLIENT_ERROR, SERVER_ERROR, NO_ANSWER = (
    "ok",
    "rate_limited",
    "unauthorized",
    "client_error",
    "server_error",
    "no_answer",
)

API_CALLS = Counter(
    "dagskassa_api_calls",
    "Calls to an accounting system's API, per tenant and result (rate_limited is a 429).",
    ["service", "tenant", "result"],
)
TOKEN_REFRESHES = Counter(
    "dagskassa_token_refreshes",
    "OAuth token refreshes asked of an accounting system, by outcome (ok, failed).",
    ["service", "outcome"],
)


def call_result(status_code: int | None) -> str:
    """The result label of a call answered with ``status_code`` (None: no answer)."""
    if status_code is None:
        return NO_ANSWER
    if status_code == 429:
        return RATE_LIMITED
    if status_code == 401:
        return UNAUTHORIZED
    if status_code >= 500:
        return SERVER_ERROR
    if status_code >= 400:
        return CLIENT_ERROR
    return OK


def count_call(service: str, tenant: str, status_code: int | None) -> None:
    API_CALLS.labels(service=service, tenant=tenant, result=call_result(status_code)).inc()


def count_refresh(service: str, ok: bool) -> None:
    TOKEN_REFRESHES.labels(service=service, outcome="ok" if ok else "failed").inc()
