"""Preflight for Visma: everything that would make Visma refuse a day's voucher, checked before posting.

Each check gives a :class:`~exporters.providers.CheckResult` (name, pass or fail, the evidence seen in
Visma, the fix in a store manager's words). One failing check does not stop the others; a check that
cannot run says why and fails.
"""

from __future__ import annotations

from collections.abc import Callable

from exporters.core.errors import DagskassaError, Rejected
from exporters.providers import CheckResult, PreflightRequest
from exporters.visma.client import Account, CostCenterItem, FiscalYear, VismaClient
from exporters.visma.errors import FIXES, RECONNECT_FIX
from exporters.visma.oauth import SCOPES

CONNECTION = "connection"
SCOPES_CHECK = "scopes"
API_MODULE = "api_module"
FISCAL_YEAR = "fiscal_year"
ACCOUNTS = "accounts"
COST_CENTER = "cost_center"
LOCK_DATE = "lock_date"
CHECKS = (CONNECTION, SCOPES_CHECK, API_MODULE, FISCAL_YEAR, ACCOUNTS, COST_CENTER, LOCK_DATE)
NO_MODULE = 4002


class _Checks:
    def __init__(self, client: VismaClient, request: PreflightRequest) -> None:
        self.client = client
        self.request = request
        self._year: FiscalYear | None = None

    def year(self) -> FiscalYear:
        if self._year is None:
            year = self.client.fiscal_year(self.request.on_date)
            if year is None:
                raise DagskassaError(f"no fiscal year covers {self.request.on_date}", FIXES[3001])
            self._year = year
        return self._year

    def connection(self) -> CheckResult:
        tokens = self.client.tokens.load()
        return CheckResult(
            CONNECTION, True, f"connected; access token valid until {tokens.expires_at:%Y-%m-%d %H:%M} UTC"
        )

    def scopes(self) -> CheckResult:
        granted = self.client.tokens.load().scopes
        missing = [scope for scope in SCOPES if scope not in granted]
        if missing:
            return CheckResult(
                SCOPES_CHECK, False, f"missing permissions: {', '.join(missing)}", RECONNECT_FIX
            )
        return CheckResult(SCOPES_CHECK, True, f"granted: {', '.join(sorted(granted))}")

    def api_module(self) -> CheckResult:
        try:
            self.client.fiscal_years()
        except Rejected as exc:
            if exc.code != NO_MODULE:
                raise
            return CheckResult(API_MODULE, False, exc.message, FIXES[NO_MODULE])
        return CheckResult(API_MODULE, True, "the company's API module answers")

    def fiscal_year(self) -> CheckResult:
        on_date = self.request.on_date
        try:
            year = self.year()
        except DagskassaError as exc:
            return CheckResult(FISCAL_YEAR, False, exc.message, exc.fix)
        evidence = f"fiscal year {year.start} – {year.end}"
        if year.locked:
            return CheckResult(FISCAL_YEAR, False, evidence + " is locked for accounting", FIXES[4038])
        return CheckResult(FISCAL_YEAR, True, f"{evidence} covers {on_date}")

    def accounts(self) -> CheckResult:
        chart = {account.number: account for account in self.client.accounts(self.year().id)}
        wanted = sorted(self.request.mapping.accounts())
        problems = [
            p for number in wanted if (p := _account_problem(number, chart.get(number), self.request))
        ]
        if problems:
            return CheckResult(
                ACCOUNTS,
                False,
                "; ".join(problems),
                "add or activate these accounts in Visma (Inställningar > Kontoplan) for the fiscal year, or map "
                "the sales to accounts that exist",
            )
        return CheckResult(ACCOUNTS, True, f"{len(wanted)} mapped accounts exist and are active: {wanted}")

    def cost_center(self) -> CheckResult:
        wanted = self.request.cost_center
        if not wanted:
            return CheckResult(COST_CENTER, True, "the store posts without a cost center")
        item = find_cost_center_item(self.client.cost_center_items(), wanted)
        fix = FIXES[5006]
        if item is None:
            return CheckResult(COST_CENTER, False, f"no cost center item {wanted!r} in Visma", fix)
        if not item.active:
            return CheckResult(
                COST_CENTER, False, f"cost center item {item.short_name} ({item.name}) is inactive", fix
            )
        return CheckResult(COST_CENTER, True, f"cost center item {item.short_name} ({item.name}) is active")

    def lock_date(self) -> CheckResult:
        locked = self.client.lock_date()
        if locked is not None and self.request.on_date <= locked:
            return CheckResult(LOCK_DATE, False, f"Visma's books are locked to {locked}", FIXES[4026])
        return CheckResult(LOCK_DATE, True, f"locked to {locked}" if locked else "no period is locked")


def _account_problem(number: int, account: Account | None, request: PreflightRequest) -> str:
    if account is None:
        return f"{number} does not exist"
    if not account.active:
        return f"{number} ({account.name}) is inactive"
    if account.first_cost_center_mandatory and not request.cost_center:
        return f"{number} ({account.name}) requires a cost center and the store has none"
    return ""


def find_cost_center_item(items: list[CostCenterItem], wanted: str) -> CostCenterItem | None:
    """The store's cost center: Visma's item by short name (what a person types) or by id."""
    return next((item for item in items if wanted in (item.short_name, item.id)), None)


def run_preflight(client: VismaClient, request: PreflightRequest) -> list[CheckResult]:
    """Every check for posting a voucher dated ``request.on_date``, in :data:`CHECKS` order."""
    checks = _Checks(client, request)
    results = []
    for name in CHECKS:
        run: Callable[[], CheckResult] = getattr(checks, name)
        try:
            results.append(run())
        except DagskassaError as exc:
            results.append(
                CheckResult(name, False, f"could not check: {exc.message}", exc.fix or RECONNECT_FIX)
            )
    return results
