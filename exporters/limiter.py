"""Keep under an API's sliding-window rate limit, per connection (or per connection and endpoint).

Fortnox allows 25 requests per 5 seconds per app and tenant (the defaults here keep one below it), Visma
600 per minute per client and endpoint. The server counts the requests that *arrived* in the last window
and answers 429 beyond the limit. The client cannot see arrival times, only that one lies between
sending and the answer. So a finished request holds its place in the window from the moment its answer
came (the latest it can have arrived), and a request still in flight holds a place until then. Whatever
the latency, the server never counts more than we did. One limiter serves all threads (and the one connection's serialised calls) of a process.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WINDOW_SECONDS = 5.0


class SlidingWindowLimiter:
    """At most ``requests`` requests in any ``window`` seconds. ``clock`` and ``sleep`` are injectable
    (a fake clock in tests); with the real ones, waiting threads sleep without holding the lock."""

    def __init__(
        self,
        requests: int = 24,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests < 1:
            raise ValueError("requests must be at least 1")
        self.requests = requests
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._finished: deque[float] = deque()
        self._in_flight = 0
        self._cond = threading.Condition()
        #: Total seconds callers waited (what the benchmark reports).
        self.waited = 0.0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a place in the window for one request: ``with limiter.slot(): send()``."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def acquire(self) -> None:
        while True:
            with self._cond:
                now = self._clock()
                while self._finished and self._finished[0] + self.window <= now:
                    self._finished.popleft()
                if len(self._finished) + self._in_flight < self.requests:
                    self._in_flight += 1
                    return
                if not self._finished:
                    self._cond.wait()
                    continue
                wait = self._finished[0] + self.window - now
                self.waited += wait
            self._sleep(wait)

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._finished.append(self._clock())
            self._cond.notify_all()


class LimiterRegistry:
    """One limiter per connection key (Fortnox limits per app and tenant; Visma's keys add the endpoint),
    shared by threads."""

    def __init__(
        self,
        requests: int = 24,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._make = lambda: SlidingWindowLimiter(requests, window, clock, sleep)
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._lock = threading.Lock()

    def for_connection(self, connection_key: str) -> SlidingWindowLimiter:
        with self._lock:
            if connection_key not in self._limiters:
                self._limiters[connection_key] = self._make()
            return self._limiters[connection_key]
