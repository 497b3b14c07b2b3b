"""Notification fixtures: a real SMTP server on 127.0.0.1 (aiosmtpd) whose mailbox the tests read, a
real HTTP receiver that checks the webhook's signature, the Fortnox sandbox in process, and settings that
point at them."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet

from backoffice.db import make_sessionmaker
from backoffice.notify.dispatch import Dispatcher
from backoffice.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from backoffice.services.fortnox import Fortnox
from exporters.fortnox import sandbox
from tests.backoffice.factories import app_settings, sandbox_fortnox
from tests.backoffice.fortnox_world import connect_store

PUBLIC_URL = "http://localhost"  # the sandbox knows this redirect address
SANDBOX = "http://fortnox.sandbox"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mailbox:
    """What the SMTP server received, each mail parsed."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def settings(engine, smtp_port):
    return app_settings(engine.url.render_as_string(hide_password=False)).replace(
        smtp={
            "host": "127.0.0.1",
            "port": smtp_port,
            "sender": "dagskassa@dagskassa.test",
            "timeout_seconds": 5.0,
        },
        web={"public_url": PUBLIC_URL},
        security={"encryption_keys": (Fernet.generate_key().decode(),)},
        # The receivers here listen on 127.0.0.1, inside the network: allowed for these tests.
        notify={"webhook_timeout_seconds": 0.5, "webhook_private_addresses": True},
        fortnox=sandbox_fortnox(SANDBOX, timeout_seconds=5.0),
    )


@pytest.fixture
def dispatcher(settings, engine) -> Dispatcher:
    return Dispatcher(settings, make_sessionmaker(engine))


@pytest.fixture
def fortnox_state():
    return sandbox.seeded_state(seed=3)


@pytest.fixture
def fortnox(settings, engine, fortnox_state) -> Fortnox:
    transport = httpx.WSGITransport(app=sandbox.create_app(fortnox_state))
    return Fortnox(settings, make_sessionmaker(engine), transport)


@pytest.fixture
def connected_store(fortnox, world) -> int:
    connect_store(fortnox, world.store_a, world.manager_a)
    return world.store_a


@dataclass
class Receiver:
    """A webhook receiver as a bureau would write one: verify, then accept (204) or refuse (401)."""

    url: str
    secret: str = ""
    #: The receiver's clock, moved by a test to replay a delivery later.
    clock_offset: float = 0.0
    accepted: list[dict] = field(default_factory=list)
    refused: int = 0
    raw: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    import time

    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {name: self.headers[name] for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER)}
            state.raw.append((body, headers))
            ok = verify(
                state.secret,
                body,
                self.headers.get(TIMESTAMP_HEADER, ""),
                self.headers.get(SIGNATURE_HEADER, ""),
                now=time.time() + state.clock_offset,
            )
            if ok:
                state.accepted.append(json.loads(body))
            else:
                state.refused += 1
            self.send_response(204 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/dagskassa"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@dataclass
class Blackhole:
    """A receiver that is down in the worst way: it accepts connections and never answers."""

    url: str
    connections: list[socket.socket] = field(default_factory=list)


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    hole = Blackhole(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    stop = threading.Event()

    def swallow() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            hole.connections.append(connection)

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    yield hole
    stop.set()
    thread.join()
    for connection in hole.connections:
        connection.close()
    listener.close()
