"""The sandbox served over real HTTP on a background thread, for end-to-end tests, benchmarks and demos."""

from __future__ import annotations

from exporters import sandbox_wsgi
from exporters.fortnox.sandbox.app import create_app
from exporters.fortnox.sandbox.seed import seeded_state
from exporters.fortnox.sandbox.state import SandboxState


class SandboxServer(sandbox_wsgi.SandboxServer):
    """``with SandboxServer() as sandbox: httpx.get(sandbox.base_url + "/_sandbox/state")``: the Fortnox
    sandbox on a thread (see :class:`exporters.sandbox_wsgi.SandboxServer`)."""

    state: SandboxState
    thread_name = "fortnox-sandbox"
    seeded_state = staticmethod(seeded_state)
    create_app = staticmethod(create_app)
