"""The sandbox served over real HTTP on a background thread, for end-to-end tests, benchmarks and demos."""

from __future__ import annotations

import threading
from types import TracebackType

from werkzeug.serving import make_server

from exporters.fortnox.sandbox.app import create_app
from exporters.fortnox.sandbox.seed import seeded_state
from exporters.fortnox.sandbox.state import SandboxState


class SandboxServer:
    """``with SandboxServer() as sandbox: httpx.get(sandbox.base_url + "/_sandbox/state")``.

    Threaded werkzeug on ``host:port`` (port 0 picks a free one); ``state`` is the seeded sandbox unless
    one is given, and stays reachable for the test to turn knobs or read the ledger."""

    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state if state is not None else seeded_state()
        self._server = make_server(host, port, create_app(self.state), threaded=True)
        self.base_url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fortnox-sandbox", daemon=True
        )

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
