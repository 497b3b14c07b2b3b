"""Everything the sandbox remembers: tenants and their books, OAuth clients, users, tokens, the clock and
the knobs. One lock guards it all; the app holds it for the whole of a request, so a threaded server sees
one request's changes at a time."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from exporters.fortnox.sandbox.books import Tenant
from exporters.fortnox.sandbox.scopes import KNOWN_SCOPES

STOCKHOLM = ZoneInfo("Europe/Stockholm")

AUTH_CODE_LIFETIME = timedelta(minutes=10)
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
REFRESH_TOKEN_LIFETIME = timedelta(days=45)

FAULT_KINDS = ("5xx", "429", "timeout", "drop", "store_then_drop")


class Clock:
    """Real time plus an offset that tests move: token expiry, code expiry, "today" and the rate
    limiter's window all read it, so a test can jump 46 days or 5 seconds without waiting."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def today(self) -> date:
        """The date in Sweden, where Fortnox's books live."""
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

    ``kind``: ``5xx`` (answer ``status``), ``429``, ``timeout`` (no answer in time), ``drop`` (close the
    connection without an answer, nothing stored) or ``store_then_drop`` (do the request, e.g. store the
    voucher, then close the connection without an answer). It fires on the ``nth`` matching calls
    (1-based) and/or at ``rate`` (0..1, from the seeded generator), at most ``times`` times.
    """

    kind: str
    rate: float = 0.0
    nth: tuple[int, ...] = ()
    method: str | None = None
    path: str = "/3/"
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
        if self.method:
            self.method = self.method.upper()

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
    (``POST /_sandbox/knobs``)."""

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
        fault = Fault(kind, **options)
        self.faults.append(fault)
        return fault

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

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


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    #: Exact redirect URIs; loopback URIs (http://127.0.0.1 or http://localhost, any port and path) are
    #: accepted too when ``allow_loopback`` is set.
    redirect_uris: tuple[str, ...] = ()
    allow_loopback: bool = True
    scopes: frozenset[str] = KNOWN_SCOPES
    service_accounts: bool = True


@dataclass
class User:
    email: str
    password: str
    name: str
    tenants: tuple[int, ...]
    sys_admin: bool = True
    id: str = ""


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str | None
    scopes: tuple[str, ...]
    tenant: int
    user: str
    issued_at: datetime
    code_challenge: str | None = None
    code_challenge_method: str = "plain"
    access_type: str = ""
    service: bool = False
    used: bool = False
    refresh_tokens: list[str] = field(default_factory=list)


@dataclass
class Grant:
    """What a token stands for: a client's access to one tenant, as one user, with scopes."""

    client_id: str
    tenant: int
    user: str
    scopes: tuple[str, ...]
    expires_at: datetime
    used: bool = False
    revoked: bool = False


class SandboxState:
    """The whole sandbox. Build one with :func:`exporters.fortnox.sandbox.seed.seeded_state` (the
    documented seeds) or empty and add to it; pass it to ``create_app``."""

    def __init__(self, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.knobs = Knobs()
        self.knobs.reseed(seed)
        self.tenants: dict[int, Tenant] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.users: dict[str, User] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        #: (client_id, tenant) -> scopes a system administrator consented to for a service account.
        self.service_consents: dict[tuple[str, int], tuple[str, ...]] = {}
        self._windows: dict[tuple[str, int], deque[float]] = {}
        self.stats: dict[str, int] = {"requests": 0, "rate_limited": 0, "faults": 0, "vouchers": 0}

    # -- rate limit ------------------------------------------------------------------------------------

    def take_rate_slot(self, client_id: str, tenant: int) -> bool:
        """Record a request for (client, tenant) and say whether it fits Fortnox's sliding window.
        Only accepted requests count, so a client that waits sees the window empty as it should."""
        knobs = self.knobs
        if not knobs.rate_limit_enabled:
            return True
        now = self.clock.monotonic()
        window = self._windows.setdefault((client_id, tenant), deque())
        while window and window[0] <= now - knobs.rate_window_s:
            window.popleft()
        if len(window) >= knobs.rate_limit:
            self.stats["rate_limited"] += 1
            return False
        window.append(now)
        return True

    # -- faults ----------------------------------------------------------------------------------------

    def pick_fault(self, method: str, path: str) -> Fault | None:
        chosen = None
        for fault in self.knobs.faults:
            if not fault.matches(method, path):
                continue
            fault.seen += 1
            if chosen is not None or (fault.times is not None and fault.fired >= fault.times):
                continue
            if fault.seen in fault.nth or (fault.rate and self.knobs.rng.random() < fault.rate):
                fault.fired += 1
                chosen = fault
        if chosen is not None:
            self.stats["faults"] += 1
        return chosen

    # -- lookups ---------------------------------------------------------------------------------------

    def tenant(self, database_number: int) -> Tenant:
        return self.tenants[database_number]

    def ledger(self, database_number: int | None = None) -> list[dict[str, Any]]:
        """Every tenant's (or one tenant's) vouchers with rows, for the ledger page and tests that count."""
        out = []
        for tenant in self.tenants.values():
            if database_number is not None and tenant.database_number != database_number:
                continue
            vouchers = []
            for (year, series, number), voucher in sorted(tenant.vouchers.items()):
                vouchers.append(
                    {
                        "year": year,
                        "series": series,
                        "number": number,
                        "transaction_date": voucher.transaction_date.isoformat(),
                        "description": voucher.description,
                        "comments": voucher.comments,
                        "reference_type": voucher.reference_type,
                        "reference_number": voucher.reference_number,
                        "rows": [
                            {
                                "account": row.account,
                                "account_name": tenant.accounts[row.account].description,
                                "debit": f"{row.debit:.2f}",
                                "credit": f"{row.credit:.2f}",
                                "cost_center": row.cost_center,
                                "project": row.project,
                                "transaction_information": row.transaction_information,
                            }
                            for row in voucher.rows
                        ],
                    }
                )
            out.append(
                {
                    "database_number": tenant.database_number,
                    "company_name": tenant.company["CompanyName"],
                    "vouchers": vouchers,
                }
            )
        return out
