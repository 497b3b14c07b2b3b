"""Latency and injected faults, as WSGI middleware in front of the emulated Fortnox: the shared
:class:`exporters.sandbox_wsgi.FaultLayer` (how drops, timeouts and ``store_then_drop`` look to a client)
with Fortnox's answers to a ``5xx`` and a ``429``.
"""

from __future__ import annotations

import json
from typing import Any

from exporters.fortnox.sandbox.api import RATE_LIMITED_BODY
from exporters.fortnox.sandbox.errors import SYSTEM_ERROR
from exporters.fortnox.sandbox.state import Fault
from exporters.sandbox_wsgi import FaultLayer, StartResponse

ADMIN_PREFIX = "/_sandbox"


class FaultInjector(FaultLayer):
    """Latency and injected faults for every request but the sandbox's own pages (``/_sandbox``)."""

    system = "Fortnox"

    def faulted(self, path: str) -> bool:
        return not path.startswith(ADMIN_PREFIX)

    def error_answer(
        self, fault: Fault, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        return _error_answer(fault, start_response)

    def rate_limited_answer(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        return _respond(start_response, 429, "application/json", json.dumps(RATE_LIMITED_BODY))


def _error_answer(fault: Fault, start_response: StartResponse) -> list[bytes]:
    if fault.status == 500:
        body = {
            "ErrorInformation": {"error": 1, "message": "Ett systemfel har uppstått", "code": SYSTEM_ERROR}
        }
        return _respond(start_response, 500, "application/json", json.dumps(body))
    # Gateways in front of Fortnox answer HTML when the API is down (FACTS.md 3.4).
    page = f"<html><body><h1>{fault.status} Service Unavailable</h1></body></html>"
    return _respond(start_response, fault.status, "text/html; charset=UTF-8", page)


def _respond(start_response: StartResponse, status: int, content_type: str, body: str) -> list[bytes]:
    data = body.encode()
    reason = {429: "Too Many Requests", 500: "Internal Server Error"}.get(status, "Service Unavailable")
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]
