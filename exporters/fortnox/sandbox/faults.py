"""Latency and injected faults, as WSGI middleware in front of the emulated Fortnox.

A dropped connection looks the same to an httpx client in both ways the sandbox runs:

- served over real HTTP (werkzeug), the socket is shut down without an answer, and httpx raises
  ``RemoteProtocolError``; a ``timeout`` holds the request ``timeout_sleep_s`` first, so a client with a
  shorter read timeout raises ``ReadTimeout``;
- mounted in process (``httpx.WSGITransport``), there is no socket, so the sandbox raises what httpx
  would have raised: ``httpx.RemoteProtocolError`` or, at once, ``httpx.ReadTimeout``.

``store_then_drop`` runs the request to the end (the voucher is stored, its number taken) and only then
drops the connection: the client cannot know whether it was stored.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterable
from typing import Any

import httpx

from exporters.fortnox.sandbox.api import RATE_LIMITED_BODY
from exporters.fortnox.sandbox.errors import SYSTEM_ERROR
from exporters.fortnox.sandbox.state import Fault, SandboxState

ADMIN_PREFIX = "/_sandbox"

StartResponse = Any
WSGIApp = Any


class FaultInjector:
    def __init__(self, app: WSGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX):
            return self.app(environ, start_response)
        with self.state.lock:
            fault = self.state.pick_fault(environ["REQUEST_METHOD"], path)
            latency_s = self.state.knobs.latency_ms / 1000
            timeout_sleep_s = self.state.knobs.timeout_sleep_s
        if latency_s:
            time.sleep(latency_s)
        if fault is None:
            return self.app(environ, start_response)
        if fault.kind == "5xx":
            return _error_answer(fault, start_response)
        if fault.kind == "429":
            return _respond(start_response, 429, "application/json", json.dumps(RATE_LIMITED_BODY))
        if fault.kind == "timeout":
            if environ.get("werkzeug.socket") is None:
                raise httpx.ReadTimeout("Fortnox sandbox: no answer in time (injected timeout)")
            time.sleep(timeout_sleep_s)
        elif fault.kind == "store_then_drop":
            answer = self.app(environ, lambda *args, **kwargs: lambda data: None)
            try:
                for _ in answer:
                    pass
            finally:
                getattr(answer, "close", lambda: None)()
        _drop(environ)
        raise AssertionError("unreachable")  # _drop always raises


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


def _drop(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats a ConnectionError as "the client went away" and writes nothing more.
    raise ConnectionAbortedError("Fortnox sandbox: connection dropped on purpose")
