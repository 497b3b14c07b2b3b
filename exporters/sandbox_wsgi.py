"""What the Fortnox and Visma sandboxes share at their network edge: :class:`FaultLayer`, the WSGI
middleware that adds latency and injected faults, and :class:`SandboxServer`, which serves a sandbox's
WSGI app over real HTTP on a background thread (end-to-end tests, benchmarks, demos).

A dropped connection looks the same to an httpx client in both ways a sandbox runs:

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
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, ClassVar, NoReturn, Self

import httpx
from werkzeug.serving import make_server

from exporters.sandbox_kit import Fault, SandboxBase

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class FaultLayer:
    """Latency and injected faults in front of a sandbox's app. A subclass names its ``system`` and says
    which paths meet faults (:meth:`faulted`) and how its server answers a ``5xx`` and a ``429``."""

    system: ClassVar[str]

    def __init__(self, app: WSGIApp, state: SandboxBase) -> None:
        self.app = app
        self.state = state

    def faulted(self, path: str) -> bool:
        raise NotImplementedError

    def error_answer(
        self, fault: Fault, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        raise NotImplementedError

    def rate_limited_answer(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raise NotImplementedError

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not self.faulted(path):
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
            return self.error_answer(fault, environ, start_response)
        if fault.kind == "429":
            return self.rate_limited_answer(environ, start_response)
        if fault.kind == "timeout":
            if environ.get("werkzeug.socket") is None:
                raise httpx.ReadTimeout(f"{self.system} sandbox: no answer in time (injected timeout)")
            time.sleep(timeout_sleep_s)
        elif fault.kind == "store_then_drop":
            answer = self.app(environ, lambda *args, **kwargs: lambda data: None)
            try:
                for _ in answer:
                    pass
            finally:
                getattr(answer, "close", lambda: None)()
        drop_connection(environ, self.system)


def drop_connection(environ: dict[str, Any], system: str) -> NoReturn:
    """Close the request's connection without an answer (or raise what httpx would, in process)."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats a ConnectionError as "the client went away" and writes nothing more.
    raise ConnectionAbortedError(f"{system} sandbox: connection dropped on purpose")


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
