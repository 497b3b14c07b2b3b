"""The one small tree of errors every part of Dagskassa raises, each saying what to do next::

    DagskassaError              .action: what the caller (or the store manager) should do
     ├── RetryLater             transient: 429, 5xx, timeout, network. Try again after .retry_after
     │    └── OutcomeUnknown    the request went out and no answer came: reconcile before any retry
     ├── FixData                the data or the settings are wrong; a person must change something
     │    ├── ZReportInvalid    a Z-report breaks the contract; .problems lists every field at once
     │    ├── MappingInvalid    a mapping file or form is wrong; .problems lists every entry at once
     │    ├── CannotBuildVoucher unmapped keys or data the voucher cannot be built from, all at once
     │    ├── VoucherUnbalanced debits and credits differ; .difference
     │    └── Rejected          the accounting system refused it; .code and .message are its own
     ├── Reconnect              the connection is dead (revoked, expired refresh token, scope missing)
     └── NotFound               the thing asked for does not exist there

Foreign exceptions (httpx, serial, SQLAlchemy) are translated into these at the boundary with
``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

RETRY = "retry"
FIX_DATA = "fix_data"
RECONNECT = "reconnect"
NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Problem:
    """One thing wrong, named by its field path (``sales[2].vat``), with the fix in plain words."""

    field: str
    message: str
    fix: str = ""
    #: ``"unmapped"`` for a key that needs an account; the BackOffice lists those as "needs mapping".
    kind: str = "invalid"
    key: str = ""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" + (f" — {self.fix}" if self.fix else "")

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "fix": self.fix, "kind": self.kind}


class DagskassaError(Exception):
    action = FIX_DATA

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message + (f" — {self.fix}" if self.fix else "")


class RetryLater(DagskassaError):
    action = RETRY

    def __init__(self, message: str, retry_after: float | None = None, fix: str = "") -> None:
        super().__init__(message, fix or "nothing to do: Dagskassa tries again by itself")
        self.retry_after = retry_after


class OutcomeUnknown(RetryLater):
    """Sent, but no answer: it may have been stored. Look it up before sending again."""


class FixData(DagskassaError):
    action = FIX_DATA


class _ProblemList(FixData):
    headline = "problems"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{self.headline} ({len(self.problems)}):\n{lines}")

    def __str__(self) -> str:
        return self.message


class ZReportInvalid(_ProblemList):
    headline = "the Z-report is invalid"


class MappingInvalid(_ProblemList):
    headline = "the account mapping is invalid"


class CannotBuildVoucher(_ProblemList):
    headline = "the voucher cannot be built"

    @property
    def unmapped(self) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.kind == "unmapped")


class VoucherUnbalanced(FixData):
    def __init__(self, debit: Decimal, credit: Decimal) -> None:
        self.difference = debit - credit
        super().__init__(
            f"the voucher does not balance: debit {debit} - credit {credit} = {self.difference}",
            "this is a bug in the Z-report figures or in Dagskassa; report it with the Z-report",
        )


class Rejected(FixData):
    """The accounting system refused the request. ``code`` and ``message`` are its own words."""

    def __init__(self, message: str, code: str | int | None = None, fix: str = "") -> None:
        super().__init__(message, fix)
        self.code = code


class Reconnect(DagskassaError):
    action = RECONNECT


class NotFound(DagskassaError):
    action = NOT_FOUND
