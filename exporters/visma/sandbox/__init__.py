"""A faithful local Visma eEkonomi (eAccounting API v2 and its identity server), built from
../shared/reference/visma/FACTS.md: what the demo, the tests and a manager's "try before connecting" use.

- ``state``: :class:`SandboxState` (companies, tokens, clock, knobs) — thread-safe under one lock
- ``seed``: :func:`seeded_state` (a BAS-like chart, two companies, the ``dagskassa`` OAuth client)
- ``app``: :func:`create_app` (mount it with ``httpx.WSGITransport``), :class:`SandboxServer` (127.0.0.1)
"""

from exporters.visma.sandbox.app import SandboxServer, create_app
from exporters.visma.sandbox.seed import seeded_state
from exporters.visma.sandbox.state import SandboxState

__all__ = ["SandboxServer", "SandboxState", "create_app", "seeded_state"]
