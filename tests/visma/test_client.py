"""The client against the sandbox's faults: what is retried, what is OutcomeUnknown, the reconcile
after "store then drop", the rate limit kept by the limiter, tokens refreshed when they expire."""

from __future__ import annotations

from datetime import date

import pytest

from exporters.core.errors import OutcomeUnknown, Reconnect, Rejected, RetryLater
from exporters.limiter import LimiterRegistry
from exporters.providers import get_provider
from exporters.tokens import InMemoryTokenStore
from exporters.visma.provider import VismaSession
from exporters.visma.sandbox import SandboxState
from tests.visma.conftest import FakeTime, visma_settings

DAY = date(2026, 3, 14)


def vouchers_in(state: SandboxState) -> int:
    return len(state.companies["exempelkrogen"].vouchers)


def test_store_then_drop_is_outcome_unknown_and_reconcile_adopts_the_voucher(
    session: VismaSession, state, voucher
) -> None:
    state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/v2/vouchers")
    with pytest.raises(OutcomeUnknown):
        session.post_voucher(voucher)
    assert vouchers_in(state) == 1  # Visma stored it; the answer was lost
    found = session.find_voucher(voucher.marker, DAY)
    assert found is not None and found.ref == "A1" and f"[{voucher.marker}]" in found.description
    assert vouchers_in(state) == 1


def test_drop_before_storing_leaves_nothing_to_reconcile(session: VismaSession, state, voucher) -> None:
    state.knobs.add_fault("drop", nth=(1,), method="POST", path="/v2/vouchers")
    with pytest.raises(OutcomeUnknown):
        session.post_voucher(voucher)
    assert session.find_voucher(voucher.marker, DAY) is None
    assert session.post_voucher(voucher).ref == "A1"


def test_timeout_on_post_is_outcome_unknown_and_on_get_is_retried(
    session: VismaSession, state, voucher, fake_time: FakeTime
) -> None:
    state.knobs.add_fault("timeout", nth=(1,), method="POST")
    with pytest.raises(OutcomeUnknown, match="ReadTimeout"):
        session.post_voucher(voucher)
    state.knobs.add_fault("timeout", nth=(1,), method="GET", path="/v2/vouchers")
    assert session.find_voucher(voucher.marker, DAY) is None  # the second GET answered
    assert fake_time.slept > 0


def test_5xx_on_get_is_retried_and_on_post_is_outcome_unknown(
    session: VismaSession, state, voucher, fake_time: FakeTime
) -> None:
    state.knobs.add_fault("5xx", nth=(1, 2), method="GET", path="/v2/costcenters")
    assert [c.code for c in session.cost_centers()] == ["KRO", "BAR", "GAMLA"]
    state.knobs.add_fault("5xx", nth=(1,), method="POST", path="/v2/vouchers", status=502)
    with pytest.raises(OutcomeUnknown):
        session.post_voucher(voucher)
    state.knobs.add_fault("5xx", nth=(1,), method="POST", path="/v2/vouchers", status=503)
    with pytest.raises(RetryLater) as caught:
        session.post_voucher(voucher)
    assert not isinstance(caught.value, OutcomeUnknown)


def test_429_gives_the_wait_from_vismas_text(session: VismaSession, state, voucher) -> None:
    state.knobs.add_fault("429", nth=(1,), method="POST")
    with pytest.raises(RetryLater) as caught:
        session.post_voucher(voucher)
    assert caught.value.retry_after == 55
    assert vouchers_in(state) == 0


def test_the_limiter_keeps_under_the_limit_per_endpoint(
    http, tokens, state: SandboxState, fake_time: FakeTime
) -> None:
    state.knobs.rate_limit = 5  # a small minute, so the test is short
    limiters = LimiterRegistry(5, 60.0, clock=fake_time.monotonic, sleep=fake_time.sleep)
    session = get_provider("visma").open_session(
        visma_settings(), http, tokens, limiters=limiters, now=state.clock.now, sleep=fake_time.sleep
    )
    for _ in range(12):
        session.cost_centers()
    session.accounts()  # other endpoints have their own minute
    assert state.stats["rate_limited"] == 0
    assert fake_time.slept > 119  # the limiter waited two minutes for /v2/costcenters


def test_without_the_limiter_the_sandbox_refuses_and_gets_retry(
    http, tokens, state: SandboxState, fake_time: FakeTime
) -> None:
    state.knobs.rate_limit = 3
    limiters = LimiterRegistry(100, 60.0, clock=fake_time.monotonic, sleep=fake_time.sleep)
    session = get_provider("visma").open_session(
        visma_settings(), http, tokens, limiters=limiters, now=state.clock.now, sleep=fake_time.sleep
    )
    for _ in range(4):
        session.cost_centers()  # the 4th is refused with 4010, waits Visma's seconds, then answers
    assert state.stats["rate_limited"] == 1 and fake_time.slept == 60


def test_an_expired_access_token_is_refreshed_once(
    session: VismaSession, tokens: InMemoryTokenStore, state
) -> None:
    first = tokens.load()
    state.clock.advance(3600)
    session.cost_centers()
    assert tokens.refresh_count == 1 and tokens.load().refresh_token != first.refresh_token
    session.cost_centers()
    assert tokens.refresh_count == 1


def test_a_revoked_connection_asks_for_reconnect(
    session: VismaSession, tokens: InMemoryTokenStore, state
) -> None:
    for grant in [*state.refresh_tokens.values(), *state.access_tokens.values()]:
        grant.revoked = True
    with pytest.raises(Reconnect) as caught:
        session.cost_centers()
    assert "connect Dagskassa again" in caught.value.fix


def test_module_inactive_is_rejected_with_the_fix(session: VismaSession, state) -> None:
    state.companies["exempelkrogen"].api_module_active = False
    with pytest.raises(Rejected) as caught:
        session.cost_centers()
    assert caught.value.code == 4002 and "Appar och tillägg" in caught.value.fix
