"""The per-connection limiter, driven by a fake clock (no test here waits for real time)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from exporters.fortnox.limiter import LimiterRegistry, SlidingWindowLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def test_the_first_window_is_free_then_each_request_waits_for_the_oldest_to_leave() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(24, 5.0, clock, clock.sleep)
    starts = []
    for _ in range(60):
        with limiter.slot():
            starts.append(clock.now)
    assert starts[:24] == [1000.0] * 24
    assert starts[24] == 1005.0
    assert starts[48] == 1010.0
    assert starts[-1] == 1010.0


def test_a_slow_answer_holds_its_place_until_it_came() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 5.0, clock, clock.sleep)
    limiter.acquire()
    clock.now += 3.0  # the first answer takes 3 s: Fortnox may have counted it as late as 1003
    limiter.release()
    with limiter.slot():
        pass
    limiter.acquire()
    assert clock.now == 1008.0


@settings(max_examples=200, deadline=None)
@given(
    requests=st.integers(1, 6),
    steps=st.lists(
        st.tuples(st.sampled_from(["send", "answer"]), st.integers(0, 12).map(lambda n: n / 4)), max_size=80
    ),
)
def test_no_window_ever_holds_more_than_the_limit_wherever_arrivals_fall(requests, steps) -> None:
    """Requests overlap (sent before earlier ones are answered) and answers take random time. Fortnox
    sees each arrival somewhere between sending and answering; whether it sees all at their earliest or
    all at their latest, no 5-second window holds more than the limit. (Gaps are quarter seconds so the
    arithmetic is exact.)"""
    clock = FakeClock()
    limiter = SlidingWindowLimiter(requests, 5.0, clock, clock.sleep)
    in_flight: list[float] = []
    spans: list[tuple[float, float]] = []
    for action, gap in steps:
        clock.now += gap
        if action == "send" and len(in_flight) < requests:
            limiter.acquire()
            in_flight.append(clock.now)
        elif in_flight:
            limiter.release()
            spans.append((in_flight.pop(0), clock.now))
    for pick in (0, 1):
        arrivals = sorted(span[pick] for span in spans)
        for first, last in itertools.combinations(range(len(arrivals)), 2):
            if arrivals[last] - arrivals[first] < 5.0:
                assert last - first + 1 <= requests


def test_registry_shares_one_limiter_per_connection() -> None:
    registry = LimiterRegistry(24)
    assert registry.for_connection("tenant-1") is registry.for_connection("tenant-1")
    assert registry.for_connection("tenant-1") is not registry.for_connection("tenant-2")
