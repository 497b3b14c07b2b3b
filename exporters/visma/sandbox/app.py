"""The Visma sandbox as a WSGI app: ``create_app(state)`` with its fault and latency knobs, and
:class:`SandboxServer`, which serves it on 127.0.0.1 from a thread.

Faults happen at the network's edge, where a real client would meet them: the shared
:class:`exporters.sandbox_wsgi.FaultLayer` (as in the Fortnox sandbox) with Visma's 5xx and 429 answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from exporters import sandbox_wsgi
from exporters.visma.sandbox import admin, api, identity, vouchers  # noqa: F401 - vouchers adds its views to api.bp
from exporters.visma.sandbox.api import INTERNAL_SERVER_ERROR, error_response, rate_limited
from exporters.visma.sandbox.seed import seeded_state
from exporters.visma.sandbox.state import Fault, SandboxState


def create_app(state: SandboxState) -> Flask:
    app = Flask(__name__)
    app.extensions["visma_sandbox"] = state
    app.register_blueprint(identity.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.wsgi_app = FaultMiddleware(app.wsgi_app, state)  # type: ignore[method-assign]
    return app


class FaultMiddleware(sandbox_wsgi.FaultLayer):
    """Latency and injected faults for ``/v2/`` and ``/connect/`` requests."""

    system = "Visma"

    def faulted(self, path: str) -> bool:
        return path.startswith(("/v2/", "/connect/"))

    def error_answer(
        self, fault: Fault, environ: dict[str, Any], start_response: Callable
    ) -> Iterable[bytes]:
        answer = error_response(fault.status, INTERNAL_SERVER_ERROR, "An error has occurred.")
        return answer(environ, start_response)

    def rate_limited_answer(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        return rate_limited(55, self.state.knobs.rate_limit)(environ, start_response)


class SandboxServer(sandbox_wsgi.SandboxServer):
    """``with SandboxServer() as sandbox: httpx.get(sandbox.base_url + "/_sandbox/ledger.json")``: the Visma
    sandbox on a thread (see :class:`exporters.sandbox_wsgi.SandboxServer`)."""

    state: SandboxState
    thread_name = "visma-sandbox"
    poll_interval = 0.05
    seeded_state = staticmethod(seeded_state)
    create_app = staticmethod(create_app)
