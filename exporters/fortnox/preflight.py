"""Preflight: everything that would make Fortnox refuse a day's voucher, checked before posting it.

Each check (DESIGN.md section 5) gives a :class:`~exporters.providers.CheckResult`: its name, ``ok``, the evidence
found in Fortnox, and the fix in words a store manager understands. One failing check does not stop
the others; a check that cannot run (no connection, no financial year) fails and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from exporters.core.errors import DagskassaError
from exporters.core.mapping import MANDATORY, NOTALLOWED, AccountMapping
from exporters.fortnox.client import FinancialYear, FortnoxClient
from exporters.fortnox.oauth import scopes_needed
from exporters.fortnox.tokens import RECONNECT_FIX, utc_now
from exporters.providers import ChartAccount, CheckResult

CONNECTION = "connection"
SCOPES = "scopes"
FINANCIAL_YEAR = "financial_year"
VOUCHER_SERIES = "voucher_series"
ACCOUNTS = "accounts"
COST_CENTER_SETTINGS = "cost_center_settings"
COST_CENTER = "cost_center"
LOCKED_PERIOD = "locked_period"
CHECKS = (
    CONNECTION,
    SCOPES,
    FINANCIAL_YEAR,
    VOUCHER_SERIES,
    ACCOUNTS,
    COST_CENTER_SETTINGS,
    COST_CENTER,
    LOCKED_PERIOD,
)


def _ok(name: str, evidence: str) -> CheckResult:
    return CheckResult(name, True, evidence)


def _fail(name: str, evidence: str, fix: str) -> CheckResult:
    return CheckResult(name, False, evidence, fix)


def run_preflight(
    client: FortnoxClient,
    mapping: AccountMapping,
    series: str | None,
    cost_center: str | None,
    on_date: date,
    invoicing: bool = False,
    now: Callable[[], datetime] = utc_now,
    attachments: bool = False,
) -> list[CheckResult]:
    """Run every check for posting a voucher dated ``on_date`` (and, with ``attachments``, attaching its
    Z-report); the results are in :data:`CHECKS` order."""
    context = _Context(client, mapping, series, cost_center, on_date, invoicing, now, attachments)
    results = []
    for name in CHECKS:
        check = getattr(context, f"check_{name}")
        try:
            results.append(check())
        except DagskassaError as exc:
            results.append(_fail(name, f"could not check: {exc.message}", exc.fix or RECONNECT_FIX))
    return results


class _Context:
    """The checks, sharing what they read from Fortnox (each list is fetched at most once)."""

    def __init__(
        self,
        client: FortnoxClient,
        mapping: AccountMapping,
        series: str | None,
        cost_center: str | None,
        on_date: date,
        invoicing: bool,
        now: Callable[[], datetime],
        attachments: bool = False,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.series = series
        self.cost_center = cost_center
        self.on_date = on_date
        self.invoicing = invoicing
        self.attachments = attachments
        self.now = now
        self._year: FinancialYear | None = None
        self._year_read = False
        self._accounts: dict[int, ChartAccount] | None = None

    def year(self) -> FinancialYear | None:
        if not self._year_read:
            self._year = self.client.financial_year(self.on_date)
            self._year_read = True
        return self._year

    def accounts(self) -> dict[int, ChartAccount] | None:
        year = self.year()
        if year is None:
            return None
        if self._accounts is None:
            self._accounts = {account.number: account for account in self.client.accounts(year.id)}
        return self._accounts

    def _no_year(self, name: str) -> CheckResult:
        return _fail(
            name,
            f"not checked: there is no financial year for {self.on_date}",
            "fix the financial year first (see that check)",
        )

    def check_connection(self) -> CheckResult:
        """Alive when Fortnox answers (refreshing the tokens if they are due); a dead refresh token or a
        revoked connection raises Reconnect, which :func:`run_preflight` reports as the failure."""
        age_before = (self.now() - self.client.tokens.load().issued_at).days
        company = self.client.company_information()
        tokens = self.client.tokens.load()
        return _ok(
            CONNECTION,
            f"connected to {company.get('CompanyName') or '?'} ({company.get('OrganizationNumber') or '?'}); "
            f"the refresh token was {age_before} days old and now lasts until "
            f"{tokens.refresh_expires_at.date()} (Fortnox ends it 45 days after it was issued)",
        )

    def check_scopes(self) -> CheckResult:
        granted = self.client.tokens.load().scopes
        needed = scopes_needed(self.invoicing, attachments=self.attachments)
        missing = [scope for scope in needed if scope not in granted]
        evidence = f"granted: {', '.join(sorted(granted)) or 'none'}; needed: {', '.join(needed)}"
        if missing:
            return _fail(
                SCOPES,
                f"{evidence}; missing: {', '.join(missing)}",
                "Dagskassa lacks permission in Fortnox for "
                + ", ".join(missing)
                + ": connect Fortnox again and approve every permission (the company may also need the "
                "matching Fortnox licence)",
            )
        return _ok(SCOPES, evidence)

    def check_financial_year(self) -> CheckResult:
        year = self.year()
        if year is None:
            return _fail(
                FINANCIAL_YEAR,
                f"Fortnox has no financial year covering {self.on_date}",
                "create the financial year in Fortnox (Inställningar > Bokföring > Räkenskapsår)",
            )
        return _ok(
            FINANCIAL_YEAR,
            f"{self.on_date} is in financial year {year.from_date} – {year.to_date} (id {year.id})",
        )

    def check_voucher_series(self) -> CheckResult:
        if not self.series:
            return _fail(
                VOUCHER_SERIES,
                "no voucher series is chosen",
                "choose a voucher series in the integration settings",
            )
        year = self.year()
        if year is None:
            return self._no_year(VOUCHER_SERIES)
        found = {item.code: item for item in self.client.voucher_series(year.id)}
        series = found.get(self.series)
        if series is None:
            return _fail(
                VOUCHER_SERIES,
                f"series {self.series} does not exist in financial year {year.from_date} – {year.to_date}; "
                f"it has: {', '.join(sorted(found)) or 'none'}",
                f"create series {self.series} in Fortnox for this financial year (Inställningar > Bokföring > "
                "Verifikationsserier), or choose an existing series in the integration settings",
            )
        if not series.manual:
            return _fail(
                VOUCHER_SERIES,
                f"series {self.series} ({series.description}) does not allow manual vouchers",
                f"in Fortnox, tick 'Manuell' for series {self.series} (Inställningar > Bokföring > "
                "Verifikationsserier), or choose a manual series",
            )
        return _ok(VOUCHER_SERIES, f"series {self.series} ({series.description}) exists and is manual")

    def check_accounts(self) -> CheckResult:
        accounts = self.accounts()
        if accounts is None:
            return self._no_year(ACCOUNTS)
        wanted = sorted(self.mapping.accounts())
        missing = [number for number in wanted if number not in accounts]
        inactive = [number for number in wanted if number in accounts and not accounts[number].active]
        if missing or inactive:
            parts = []
            if missing:
                parts.append(f"missing in Fortnox: {', '.join(map(str, missing))}")
            if inactive:
                parts.append(f"inactive: {', '.join(map(str, inactive))}")
            return _fail(
                ACCOUNTS,
                "; ".join(parts),
                "add or activate these accounts in Fortnox's chart of accounts (Inställningar > Bokföring > "
                "Kontoplan), or map those sales and payments to other accounts",
            )
        return _ok(ACCOUNTS, f"all {len(wanted)} mapped accounts exist and are active")

    def check_cost_center_settings(self) -> CheckResult:
        accounts = self.accounts()
        if accounts is None:
            return self._no_year(COST_CENTER_SETTINGS)
        wanted = sorted(number for number in self.mapping.accounts() if number in accounts)
        needs = [n for n in wanted if accounts[n].cost_center_rule == MANDATORY]
        refuses = [n for n in wanted if accounts[n].cost_center_rule == NOTALLOWED]
        if needs and not self.cost_center:
            return _fail(
                COST_CENTER_SETTINGS,
                f"accounts {', '.join(map(str, needs))} require a cost center and the store has none",
                "set the store's cost center in the integration settings, or change the accounts' cost "
                "center setting in Fortnox",
            )
        stale = [n for n in refuses if self.cost_center and self.mapping.cost_center_rule(n) != NOTALLOWED]
        if stale:
            return _fail(
                COST_CENTER_SETTINGS,
                f"accounts {', '.join(map(str, stale))} do not allow a cost center in Fortnox, but Dagskassa "
                "would put one on them",
                "reload the chart of accounts from Fortnox in the mapping page (it brings the accounts' "
                "cost center rules)",
            )
        return _ok(
            COST_CENTER_SETTINGS,
            f"cost center rules fit: {len(needs)} accounts require one, {len(refuses)} do not allow one",
        )

    def check_cost_center(self) -> CheckResult:
        if not self.cost_center:
            return _ok(COST_CENTER, "the store uses no cost center")
        found = {item.code: item for item in self.client.cost_centers()}
        center = found.get(self.cost_center)
        if center is None:
            return _fail(
                COST_CENTER,
                f"cost center {self.cost_center} does not exist in Fortnox",
                f"create cost center {self.cost_center} in Fortnox (Register > Kostnadsställen), or choose an "
                "existing one in the integration settings",
            )
        if not center.active:
            return _fail(
                COST_CENTER,
                f"cost center {self.cost_center} ({center.description}) is inactive",
                f"activate cost center {self.cost_center} in Fortnox (Register > Kostnadsställen)",
            )
        return _ok(COST_CENTER, f"cost center {self.cost_center} ({center.description}) exists and is active")

    def check_locked_period(self) -> CheckResult:
        end = self.client.locked_period_end()
        if end is None:
            return _ok(LOCKED_PERIOD, "no period is locked")
        if self.on_date <= end:
            return _fail(
                LOCKED_PERIOD,
                f"Fortnox is locked up to and including {end}; {self.on_date} falls inside",
                "ask whoever keeps the books to unlock the period in Fortnox (Inställningar > Bokföring > "
                "Låsning av period), or post the day as a correction in an open period",
            )
        return _ok(LOCKED_PERIOD, f"locked up to {end}; {self.on_date} is after it")
