"""Fixtures of the bridge's outside world: a register and a printer on pseudo-terminals, and the
stand-in BackOffice served on 127.0.0.1."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from config.settings import BridgeSettings
from pos_bridge.bridge import open_port
from pos_bridge.link import RegisterLink
from pos_bridge.printer_sim import PrinterSim
from pos_bridge.ptys import PtyEnd
from pos_bridge.register_sim import RegisterClient, Shop, sell_day
from pos_bridge.spool import Spool
from tests.pos_bridge.backoffice_standin import Served, StandInBackOffice


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backoffice():
    served = Served(StandInBackOffice(codes=("ENROLL-1", "ENROLL-2")))
    yield served
    served.close()


@pytest.fixture
def spool_path(tmp_path):
    return tmp_path / "spool.sqlite"


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def day(shop):
    """One day's messages (80 sales, a return, a tip, cash rounding) ending in its z_report."""
    return sell_day(shop, date(2026, 11, 20), 80, random.Random(7))


class LinkUnderTest:
    """A RegisterLink serving the slave end of a pty in a thread; ``client`` is the register."""

    def __init__(self, spool_path) -> None:
        self.register = PtyEnd()
        self.port = open_port(self.register.path, 9600, timeout=0.05)
        self.spool = Spool(spool_path)
        self.link = RegisterLink(self.port, self.spool)
        self.client = RegisterClient(self.register, ack_timeout=5.0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        own = Spool(self.spool.path)
        self.link.spool = own
        try:
            self.link.serve(self.stop)
        finally:
            own.close()

    def exchange(self, line: bytes) -> dict:
        """Send raw bytes as the register and return the bridge's reply."""
        self.register.write(line)
        reply = self.client.reply(None)
        assert reply is not None, "the bridge did not answer"
        return reply

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.port.close()
        self.spool.close()
        self.register.close()


@pytest.fixture
def link(spool_path):
    under_test = LinkUnderTest(spool_path)
    yield under_test
    under_test.close()


@pytest.fixture
def printer_sim():
    printer = PrinterSim().start()
    yield printer
    printer.stop()


@pytest.fixture
def bridge_settings(tmp_path, backoffice) -> BridgeSettings:
    return BridgeSettings(
        backoffice_url=backoffice.url,
        spool_path=str(tmp_path / "spool.sqlite"),
        token_path=str(tmp_path / "token"),
        status_path=str(tmp_path / "status.json"),
    )
