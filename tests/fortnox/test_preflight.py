"""Every preflight check fails when its condition is broken in the sandbox, with evidence and a fix in a
store manager's words, and passes again once it is fixed there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from config.bas import bas_default_mapping_data
from exporters.core import parse_mapping
from exporters.fortnox.client import FortnoxClient
from exporters.fortnox.preflight import CHECKS, run_preflight
from exporters.fortnox.sandbox import SandboxState
from exporters.providers import CheckResult
from tests.fortnox.conftest import ALL_SCOPES, EXEMPELKROGEN, connect

MAPPING = parse_mapping({"cash_difference": 6990}, bas_default_mapping_data())


@pytest.fixture
def preflight(client: FortnoxClient, today: date) -> Callable[..., dict[str, CheckResult]]:
    def run(cost_center: str | None = "REST1", series: str = "K", invoicing: bool = True, on: date = today):
        results = run_preflight(client, MAPPING, series, cost_center, on, invoicing)
        assert [r.name for r in results] == list(CHECKS)
        return {r.name: r for r in results}

    return run


def test_a_well_set_up_company_passes_everything(preflight) -> None:
    results = preflight()
    assert {name: r.ok for name, r in results.items()} == dict.fromkeys(CHECKS, True)
    assert "Exempelkrogen AB" in results["connection"].evidence
    assert f"all {len(MAPPING.accounts())} mapped accounts" in results["accounts"].evidence


def failed(results: dict[str, CheckResult], name: str) -> CheckResult:
    result = results[name]
    assert not result.ok, result
    assert result.evidence and result.fix
    return result


def test_connection(preflight, http, sandbox: SandboxState, store) -> None:
    with sandbox.lock:
        sandbox.clock.advance(timedelta(days=46).total_seconds())  # nobody used it: the refresh token died
    result = failed(preflight(on=sandbox.clock.today()), "connection")
    assert "connect Dagskassa again" in result.fix
    store.replace(connect(http, sandbox).load())
    assert preflight(on=sandbox.clock.today())["connection"].ok


def test_scopes(preflight, http, sandbox: SandboxState, store) -> None:
    store.replace(connect(http, sandbox, scopes=("bookkeeping", "companyinformation", "settings")).load())
    result = failed(preflight(), "scopes")
    assert "missing: costcenter, invoice, order, customer" in result.evidence
    assert "approve every permission" in result.fix
    assert preflight(invoicing=False)["scopes"].ok is False  # costcenter is needed even without invoicing
    store.replace(connect(http, sandbox, scopes=ALL_SCOPES).load())
    assert preflight()["scopes"].ok


def test_a_store_that_attaches_its_z_reports_needs_the_file_permissions(
    client: FortnoxClient, http, sandbox: SandboxState, store, today: date
) -> None:
    def scopes(attachments: bool) -> CheckResult:
        results = run_preflight(client, MAPPING, "K", "REST1", today, False, attachments=attachments)
        return {r.name: r for r in results}["scopes"]

    without_files = tuple(scope for scope in ALL_SCOPES if scope not in ("inbox", "connectfile"))
    store.replace(connect(http, sandbox, scopes=without_files).load())
    assert scopes(attachments=False).ok
    result = scopes(attachments=True)
    assert not result.ok and "missing: inbox, connectfile" in result.evidence
    assert "connect Fortnox again" in result.fix
    store.replace(connect(http, sandbox, scopes=ALL_SCOPES).load())
    assert scopes(attachments=True).ok


def test_financial_year(preflight, sandbox: SandboxState, today: date) -> None:
    tenant = sandbox.tenants[EXEMPELKROGEN]
    removed = tenant.financial_years.pop(2)
    results = preflight()
    assert "create the financial year" in failed(results, "financial_year").fix
    assert "no financial year" in failed(results, "voucher_series").evidence
    tenant.financial_years[2] = removed
    assert preflight()["financial_year"].ok


def test_voucher_series(preflight, sandbox: SandboxState) -> None:
    series = sandbox.tenants[EXEMPELKROGEN].series[(2, "K")]
    series.manual = False
    assert "tick 'Manuell'" in failed(preflight(), "voucher_series").fix
    assert "does not exist" in failed(preflight(series="Q"), "voucher_series").evidence
    series.manual = True
    assert preflight()["voucher_series"].ok


def test_accounts(preflight, sandbox: SandboxState) -> None:
    accounts = sandbox.tenants[EXEMPELKROGEN].accounts
    accounts[1580].active = False
    missing = accounts.pop(6990)
    result = failed(preflight(), "accounts")
    assert result.evidence == "missing in Fortnox: 6990; inactive: 1580"
    accounts[1580].active = True
    accounts[6990] = missing
    assert preflight()["accounts"].ok


def test_cost_center_settings(preflight, sandbox: SandboxState) -> None:
    sandbox.tenants[EXEMPELKROGEN].accounts[3001].cost_center_settings = "MANDATORY"
    result = failed(preflight(cost_center=None), "cost_center_settings")
    assert "3001 require a cost center" in result.evidence
    assert preflight(cost_center="REST1")["cost_center_settings"].ok
    sandbox.tenants[EXEMPELKROGEN].accounts[1580].cost_center_settings = "NOTALLOWED"
    assert "reload the chart of accounts" in failed(preflight(), "cost_center_settings").fix
    sandbox.tenants[EXEMPELKROGEN].accounts[1580].cost_center_settings = "ALLOWED"
    assert preflight()["cost_center_settings"].ok


def test_cost_center(preflight, sandbox: SandboxState) -> None:
    assert "does not exist" in failed(preflight(cost_center="NOPE"), "cost_center").evidence
    assert "activate cost center GAMMAL" in failed(preflight(cost_center="GAMMAL"), "cost_center").fix
    sandbox.tenants[EXEMPELKROGEN].cost_centers["GAMMAL"].active = True
    assert preflight(cost_center="GAMMAL")["cost_center"].ok


def test_locked_period(preflight, sandbox: SandboxState, today: date) -> None:
    tenant = sandbox.tenants[EXEMPELKROGEN]
    tenant.locked_until = today
    assert "unlock the period" in failed(preflight(), "locked_period").fix
    tenant.locked_until = today - timedelta(days=1)
    assert preflight()["locked_period"].ok
    tenant.locked_until = None
    assert preflight()["locked_period"].evidence == "no period is locked"
