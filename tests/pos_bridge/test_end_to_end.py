"""The whole bridge: a simulated register and printer on pseudo-terminals, the stand-in BackOffice on
127.0.0.1, the bridge in process (its threads) or as a subprocess killed with SIGKILL at the worst times."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from exporters.core import parse_z_report
from pos_bridge import dkl1
from pos_bridge.bridge import Bridge
from pos_bridge.ptys import PtyEnd
from pos_bridge.register_sim import RegisterClient, sell_day
from pos_bridge.spool import Spool
from pos_bridge.uploader import enroll

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition, what: str, seconds: float = 20.0) -> None:
    """Poll until ``condition()`` holds; the deadline only guards against a hang, it measures nothing."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def enroll_bridge(settings, backoffice) -> None:
    with httpx.Client(base_url=backoffice.url) as client:
        enroll(client, "ENROLL-1", "Kassa 1", "CU-0001-2345", settings.token_path)


def test_a_normal_day_end_to_end(bridge_settings, backoffice, printer_sim, shop, day):
    register = PtyEnd()
    settings = dataclasses.replace(bridge_settings, register_url=register.path, printer_url=printer_sim.path)
    enroll_bridge(settings, backoffice)
    bridge = Bridge(settings).start()
    try:
        client = RegisterClient(register)
        client.send(shop.hello(client.session))
        for message in day:
            ack = client.send(message)
        assert ack["z_report"] == "pending"
        wait_for(lambda: backoffice.app.created == 1, "the Z-report at the BackOffice")
        wait_for(lambda: "(sent)" in printer_sim.text, "the day-close slip")
        again = client.send(day[-1])  # the operator closes the same day once more
        assert again["z_report"] == "sent"
    finally:
        bridge.close()
        register.close()
    stored = backoffice.app.reports["Kassa 1", 1]["report"]
    z_report = day[-1]
    assert stored["business_date"] == "2026-11-20" and stored["org_number"] == "556677-8899"
    assert sum(int(p["amount"].replace(".", "")) for p in stored["payments"]) == sum(
        p["amount"] for p in z_report["payments"]
    )
    assert {t["method"] for t in stored["tips"]} == {"card"} and stored["returns"]
    assert client.naks == []
    assert backoffice.app.posts == [("Kassa 1", 1)]
    assert printer_sim.text.count("DAGSAVSLUT") == 1
    assert "Z-nummer" in printer_sim.text and "OMUTSKRIFT" not in printer_sim.text
    spool = Spool(settings.spool_path)
    assert spool.count_by_state() == {"sent": 1}
    assert spool.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == len(day) + 2
    spool.close()


class BridgeProcess:
    """``dagskassa bridge`` as a separate process, optionally held at a point of its work."""

    def __init__(self, settings, hold_at: str | None = None, marker: Path | None = None) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("DAGSKASSA_")}
        for field in dataclasses.fields(settings):
            env[f"DAGSKASSA_BRIDGE_{field.name.upper()}"] = str(getattr(settings, field.name))
        if hold_at:
            env |= {"POS_BRIDGE_HOLD_AT": hold_at, "POS_BRIDGE_HOLD_FILE": str(marker)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "config.cli", "bridge"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process.stderr.close()

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        _, errors = self.process.communicate(timeout=20)
        assert self.process.returncode == 0, errors.decode()
        return errors.decode()


@pytest.fixture
def crash_setup(bridge_settings, backoffice, tmp_path):
    register = PtyEnd()
    settings = dataclasses.replace(bridge_settings, register_url=register.path)
    enroll_bridge(settings, backoffice)
    yield settings, register, tmp_path / "held"
    register.close()


def test_killed_between_storing_and_ack_loses_nothing_and_sends_once(crash_setup, backoffice, shop, day):
    settings, register, marker = crash_setup
    first = BridgeProcess(settings, hold_at="stored:z_report", marker=marker)
    second = None
    client = RegisterClient(register, ack_timeout=1.0)
    acks = []
    try:
        client.send(shop.hello(client.session))
        for message in day[:-1]:
            client.send(message)
        sender = threading.Thread(target=lambda: acks.append(client.send(day[-1])), daemon=True)
        sender.start()
        wait_for(marker.exists, "the bridge to hold after storing the Z-report")
        first.kill()  # stored, not ACKed: the register keeps resending the same frame
        assert acks == []
        second = BridgeProcess(settings)
        sender.join(timeout=30)
        # The held bridge's uploader may have sent it before the kill; either way it is the same report.
        assert acks and acks[0]["z_report"] in ("pending", "sent")
        wait_for(lambda: backoffice.app.created == 1, "the Z-report at the BackOffice")
        second.stop()
    finally:
        for process in (first, second):
            if process is not None and process.process.returncode is None:
                process.kill()
    assert backoffice.app.posts == [("Kassa 1", 1)]
    spool = Spool(settings.spool_path)
    assert spool.count_by_state() == {"sent": 1}
    assert spool.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == len(day) + 1
    spool.close()


def test_killed_between_upload_and_marking_sent_sends_it_again_booked_once(
    crash_setup, backoffice, shop, day
):
    settings, register, marker = crash_setup
    first = BridgeProcess(settings, hold_at="uploaded", marker=marker)
    second = None
    client = RegisterClient(register, ack_timeout=1.0)
    try:
        client.send(shop.hello(client.session))
        for message in day:
            client.send(message)
        wait_for(marker.exists, "the bridge to hold after the BackOffice's answer")
        first.kill()
        assert backoffice.app.created == 1
        spool = Spool(settings.spool_path)
        assert spool.count_by_state() == {"pending": 1}  # the kill came before it was marked sent
        spool.close()
        second = BridgeProcess(settings)
        wait_for(lambda: len(backoffice.app.posts) == 2, "the Z-report sent again")
        second.stop()
    finally:
        for process in (first, second):
            if process is not None and process.process.returncode is None:
                process.kill()
    assert backoffice.app.created == 1 and len(backoffice.app.reports) == 1
    spool = Spool(settings.spool_path)
    assert spool.count_by_state() == {"sent": 1}
    assert spool.db.execute("SELECT server_status FROM z_reports").fetchone()[0] == 200
    spool.close()


@pytest.mark.slow
def test_killed_at_random_moments_again_and_again(crash_setup, backoffice, shop):
    """Three days sold while the bridge is SIGKILLed at random moments and restarted: every message is
    stored once, every day reaches the BackOffice once, with the register's figures."""
    settings, register, _ = crash_setup
    messages = []
    for offset in range(3):
        messages += sell_day(shop, date(2026, 11, 20) + timedelta(days=offset), 30, random.Random(offset))
    client = RegisterClient(register, ack_timeout=0.5)
    done = threading.Event()

    def sell() -> None:
        client.send(shop.hello(client.session))
        for message in messages:
            client.send(message)
            time.sleep(0.02)  # the pace of a busy register, so the kills land mid-day
        done.set()

    threading.Thread(target=sell, daemon=True).start()
    moments = random.Random(2026)
    bridge = None
    try:
        for _ in range(6):
            bridge = BridgeProcess(settings)
            time.sleep(moments.uniform(0.6, 1.6))
            bridge.kill()
        bridge = BridgeProcess(settings)
        wait_for(done.is_set, "the register to get every ACK", seconds=60)
        wait_for(lambda: backoffice.app.created == 3, "three days at the BackOffice", seconds=30)
        wait_for(lambda: spool_states(settings) == {"sent": 3}, "all three marked sent")
    finally:
        if bridge is not None:
            bridge.kill()
    identity = dkl1.Identity.from_hello({**shop.hello(client.session)})
    expected = {(m["z_number"]): dkl1.z_report_json(identity, m) for m in messages if m["type"] == "z_report"}
    assert sorted(number for _, number in backoffice.app.reports) == [1, 2, 3]
    for (_, number), stored in backoffice.app.reports.items():
        assert stored["hash"] == parse_z_report(expected[number]).content_hash()
    spool = Spool(settings.spool_path)
    assert spool.count_by_state() == {"sent": 3}
    assert spool.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == len(messages) + 1
    spool.close()


def spool_states(settings) -> dict[str, int]:
    spool = Spool(settings.spool_path)
    try:
        return spool.count_by_state()
    finally:
        spool.close()
