"""The Visma sandbox as a WSGI app: ``create_app(state)`` with its fault and latency knobs, and
:class:`SandboxServer`, which serves it on 127.0.0.1 from a thread.

Faults happen at the network's edge, where a real client would meet them (as in the Fortnox sandbox).
Over real HTTP (``dagskassa visma-sandbox`` or :class:`SandboxServer`) a ``drop`` shuts the socket without
an answer and a ``timeout`` holds the request ``timeout_sleep_s`` first. Mounted in process
(``httpx.WSGITransport``) there is no socket, so the sandbox raises what httpx would have raised:
``httpx.RemoteProtocolError`` or, at once, ``httpx.ReadTimeout``. Either way the client under test runs
the very code path it runs against Visma.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from flask import Flask

from exporters import sandbox_wsgi
from exporters.visma.sandbox import admin, api, identity, vouchers  # noqa: F401 - vouchers adds its views to api.bp
from exporters.visma.sandbox.api import INTERNAL_SERVER_ERROR, error_response, rate_limited
from exporters.visma.sandbox.seed import seeded_state
from exporters.visma.sandbox.state import SandboxState


def create_app(state: SandboxState) -> Flask:
    app = Flask(__name__)
    app.extensions["visma_sandbox"] = state
    app.register_blueprint(identity.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.wsgi_app = FaultMiddleware(app.wsgi_app, state)  # type: ignore[method-assign]
    return app


class FaultMiddleware:
    """Latency and injected faults for ``/v2/`` and ``/connect/`` requests."""

    def __init__(self, app: Callable, state: SandboxState) -> None:
        self.app = app
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(("/v2/", "/connect/")):
            return self.app(environ, start_response)
        state = self.state
        if state.knobs.latency_ms:
            time.sleep(state.knobs.latency_ms / 1000)
        with state.lock:
            fault = state.pick_fault(environ["REQUEST_METHOD"], path)
        if fault is None:
            return self.app(environ, start_response)
        if fault.kind == "5xx":
            answer = error_response(fault.status, INTERNAL_SERVER_ERROR, "An error has occurred.")
            return answer(environ, start_response)
        if fault.kind == "429":
            return rate_limited(55, state.knobs.rate_limit)(environ, start_response)
        if fault.kind == "store_then_drop":
            for _chunk in self.app(environ, lambda *args, **kwargs: None):
                pass
        if fault.kind == "timeout":
            if environ.get("werkzeug.socket") is None:
                raise httpx.ReadTimeout("Visma sandbox: no answer in time (injected timeout)")
            time.sleep(state.knobs.timeout_sleep_s)
        _drop(environ)
        raise AssertionError("unreachable")  # _drop always raises


def _drop(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats a ConnectionError as "the client went away" and writes nothing more.
    raise ConnectionAbortedError("Visma sandbox: connection dropped on purpose")


class SandboxServer(sandbox_wsgi.SandboxServer):
    """``with SandboxServer() as sandbox: httpx.get(sandbox.base_url + "/_sandbox/ledger.json")``: the Visma
    sandbox on a thread (see :class:`exporters.sandbox_wsgi.SandboxServer`)."""

    state: SandboxState
    thread_name = "visma-sandbox"
    poll_interval = 0.05
    seeded_state = staticmethod(seeded_state)
    create_app = staticmethod(create_app)
