"""What the Fortnox and Visma sandboxes share: the settable clock, injected faults, the knobs that hold them
and the state's lock, counters, rate windows and fault picking. Each sandbox subclasses :class:`Fault`,
:class:`Knobs` and :class:`SandboxBase` with its own defaults (paths, statuses, rate limits)."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")

FAULT_KINDS = ("5xx", "429", "timeout", "drop", "store_then_drop")


class Clock:
    """Real time plus an offset that tests move: token expiry, code expiry, "today" and the rate
    limiter's window all read it, so a test can jump 46 days or 5 seconds without waiting."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def today(self) -> date:
        """The date in Sweden, where the books live."""
        return self.now().astimezone(STOCKHOLM).date()

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=STOCKHOLM)
        self._offset += (when - self.now()).total_seconds()


@dataclass
class Fault:
    """An injected failure for requests whose method and path match.

    ``kind``: ``5xx`` (answer ``status``), ``429`` (the rate limit answer), ``timeout`` (hold the request,
    then drop it), ``drop`` (close the connection without an answer, nothing done) or ``store_then_drop``
    (do the request, e.g. store the voucher, then close the connection unanswered). It fires on the
    ``nth`` matching calls (1-based) and/or at ``rate`` (0..1, from the seeded generator), at most
    ``times`` times. Each sandbox subclasses it with its own default ``path`` and ``status``.
    """

    kind: str
    rate: float = 0.0
    nth: tuple[int, ...] = ()
    method: str | None = None
    path: str = "/"
    status: int = 503
    times: int | None = None
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r} is not one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate {self.rate} must be between 0 and 1")
        self.nth = tuple(int(n) for n in self.nth)
        self.method = self.method.upper() if self.method else None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and path.startswith(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rate": self.rate,
            "nth": list(self.nth),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "times": self.times,
            "seen": self.seen,
            "fired": self.fired,
        }


@dataclass
class Knobs:
    """What tests, benchmarks and demos turn. Change them from Python (``state.knobs``) or over HTTP
    (``POST /_sandbox/knobs``). Each sandbox subclasses it with its own rate limit and ``fault_type``."""

    fault_type: ClassVar[type[Fault]] = Fault

    latency_ms: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    #: Over real HTTP a ``timeout`` fault holds the request this long, then drops it.
    timeout_sleep_s: float = 30.0
    rate_limit_enabled: bool = True
    rate_limit: int = 25
    rate_window_s: float = 5.0
    seed: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def add_fault(self, kind: str, **options: Any) -> Fault:
        fault = self.fault_type(kind, **options)
        self.faults.append(fault)
        return fault

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def pick_fault(self, method: str, path: str) -> Fault | None:
        """Count this request against every matching fault and return the first that fires, if any."""
        chosen = None
        for fault in self.faults:
            if not fault.matches(method, path):
                continue
            fault.seen += 1
            if chosen is not None or (fault.times is not None and fault.fired >= fault.times):
                continue
            if fault.seen in fault.nth or (fault.rate and self.rng.random() < fault.rate):
                fault.fired += 1
                chosen = fault
        return chosen

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "timeout_sleep_s": self.timeout_sleep_s,
            "rate_limit": {
                "enabled": self.rate_limit_enabled,
                "limit": self.rate_limit,
                "window_s": self.rate_window_s,
            },
            "seed": self.seed,
            "faults": [fault.to_dict() for fault in self.faults],
        }


class SandboxBase:
    """The part of a sandbox's state that is not about its books: one re-entrant lock (the app holds it
    for the whole of a request), the clock, the knobs, the counters and the rate windows."""

    knobs_type: ClassVar[type[Knobs]] = Knobs

    def __init__(self, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.knobs = self.knobs_type()
        self.knobs.reseed(seed)
        self._windows: dict[Hashable, deque[float]] = {}
        self.stats: dict[str, int] = {"requests": 0, "rate_limited": 0, "faults": 0, "vouchers": 0}

    def _rate_wait(self, key: Hashable) -> float | None:
        """Count a request under ``key`` in its sliding window: None when it fits, else the seconds until a
        slot frees. Only accepted requests count, so a client that waits sees the window empty."""
        knobs = self.knobs
        if not knobs.rate_limit_enabled:
            return None
        now = self.clock.monotonic()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - knobs.rate_window_s:
            window.popleft()
        if len(window) >= knobs.rate_limit:
            self.stats["rate_limited"] += 1
            return window[0] + knobs.rate_window_s - now
        window.append(now)
        return None

    def clear_rate_windows(self) -> None:
        self._windows.clear()

    def pick_fault(self, method: str, path: str) -> Fault | None:
        chosen = self.knobs.pick_fault(method, path)
        if chosen is not None:
            self.stats["faults"] += 1
        return chosen
