"""What the Fortnox and Visma sandboxes share at their network edge: :class:`SandboxServer`, which serves
a sandbox's WSGI app over real HTTP on a background thread (end-to-end tests, benchmarks, demos)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, ClassVar, Self

from werkzeug.serving import make_server


class SandboxServer:
    """``with SandboxServer() as sandbox: httpx.get(sandbox.base_url + "/_sandbox/ledger")``.

    Threaded werkzeug on ``host:port`` (port 0 picks a free one); ``state`` is the seeded sandbox unless
    one is given, and stays reachable for the test to turn knobs or read the ledger. Each sandbox
    subclasses it with its :meth:`seeded_state`, :meth:`create_app` and thread name."""

    thread_name: ClassVar[str] = "sandbox"
    #: How often (seconds) the serving thread looks whether it should stop.
    poll_interval: ClassVar[float] = 0.5

    def __init__(self, state: Any = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state if state is not None else self.seeded_state()
        self._server = make_server(host, port, self.create_app(self.state), threaded=True)
        self.base_url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(self.poll_interval,), name=self.thread_name, daemon=True
        )

    @staticmethod
    def seeded_state() -> Any:
        raise NotImplementedError

    @staticmethod
    def create_app(state: Any) -> Any:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
