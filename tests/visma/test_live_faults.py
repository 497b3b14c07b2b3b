"""The fault knobs over real HTTP on 127.0.0.1: a dropped socket and a held request reach the client as
httpx raises them from a real network, and the reconcile finds the voucher stored before the drop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from exporters.core.errors import OutcomeUnknown
from exporters.providers import get_provider
from exporters.tokens import InMemoryTokenStore
from exporters.visma.provider import VismaSession
from exporters.visma.sandbox import SandboxServer, SandboxState
from tests.visma.conftest import connect, visma_settings

ADMIN = {"X-Sandbox-Admin": "1"}


@pytest.fixture
def live(state: SandboxState) -> Iterator[tuple[VismaSession, httpx.Client, str]]:
    with SandboxServer(state) as sandbox, httpx.Client(timeout=httpx.Timeout(5, read=0.3)) as http:
        settings = visma_settings(sandbox.base_url)
        tokens = InMemoryTokenStore("live", connect(http, settings))
        yield (
            get_provider("visma").open_session(settings, http, tokens, sleep=lambda _: None),
            http,
            sandbox.base_url,
        )


def test_store_then_drop_over_a_socket_then_reconcile(live, voucher, state: SandboxState) -> None:
    session, http, base = live
    faults = [{"kind": "store_then_drop", "nth": [1], "method": "POST", "path": "/v2/vouchers"}]
    http.post(f"{base}/_sandbox/knobs", json={"faults": faults}, headers=ADMIN).raise_for_status()
    with pytest.raises(OutcomeUnknown) as caught:
        session.post_voucher(voucher)
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    found = session.find_voucher(voucher.marker, date(2026, 3, 14))
    assert found is not None and found.ref == "A1"
    assert len(http.get(f"{base}/_sandbox/ledger.json").json()[0]["vouchers"]) == 1


def test_a_held_request_times_out_and_a_dropped_get_is_retried(live, voucher, state: SandboxState) -> None:
    session, http, base = live
    faults = [
        {"kind": "timeout", "nth": [1], "method": "POST", "path": "/v2/vouchers"},
        {"kind": "drop", "nth": [1], "method": "GET", "path": "/v2/vouchers"},
    ]
    http.post(f"{base}/_sandbox/knobs", json={"faults": faults, "timeout_sleep_s": 1}, headers=ADMIN)
    with pytest.raises(OutcomeUnknown) as caught:
        session.post_voucher(voucher)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert session.find_voucher(voucher.marker, date(2026, 3, 14)) is None  # dropped once, then answered
    assert [f["fired"] for f in http.get(f"{base}/_sandbox/knobs").json()["faults"]] == [1, 1]
