"""Preflight against the sandbox: every check passes on the seeded company, fails with evidence and a fix
when Visma is broken that way, and passes again when it is fixed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from exporters.providers import PreflightRequest
from exporters.visma.preflight import CHECKS
from exporters.visma.provider import VismaSession
from exporters.visma.sandbox import SandboxState
from exporters.visma.sandbox.admin import apply_company_change
from tests.visma.conftest import connect, visma_settings

DAY = date(2026, 3, 14)

BREAKS = {
    "api_module": ({"api_module_active": False}, {"api_module_active": True}, "Appar och tillägg"),
    "fiscal_year": (
        {"fiscal_year_locked": {"date": "2026-03-14", "locked": True}},
        {"fiscal_year_locked": {"date": "2026-03-14", "locked": False}},
        "locked fiscal year",
    ),
    "accounts": (
        {"account": {"date": "2026-03-14", "number": 2611, "is_active": False}},
        {"account": {"date": "2026-03-14", "number": 2611, "is_active": True}},
        "Kontoplan",
    ),
    "cost_center": (
        {"cost_center_item": {"short_name": "KRO", "is_active": False}},
        {"cost_center_item": {"short_name": "KRO", "is_active": True}},
        "Kostnadsställen",
    ),
    "lock_date": (
        {"accounting_locked_to": "2026-03-31"},
        {"accounting_locked_to": "2026-02-28"},
        "locked period",
    ),
}


@pytest.fixture
def request_(mapping) -> PreflightRequest:
    return PreflightRequest(
        mapping=replace(mapping, cost_center="KRO"),
        voucher_series=None,
        cost_center="KRO",
        project=None,
        on_date=DAY,
    )


def failed(results) -> dict[str, str]:
    return {r.name: r.fix for r in results if not r.ok}


def test_all_checks_pass_on_the_seeded_company(session: VismaSession, request_: PreflightRequest) -> None:
    results = session.preflight(request_)
    assert [r.name for r in results] == list(CHECKS)
    assert failed(results) == {}, results


@pytest.mark.parametrize("check", BREAKS)
def test_a_broken_check_fails_with_the_fix_and_passes_when_fixed(
    session: VismaSession, state: SandboxState, request_, check: str
) -> None:
    broken, fixed, fix = BREAKS[check]
    company = state.companies["exempelkrogen"]
    apply_company_change(company, broken)
    failures = failed(session.preflight(request_))
    assert list(failures) == [check] or (check == "api_module" and "api_module" in failures)
    assert fix in failures[check]
    apply_company_change(company, fixed)
    assert failed(session.preflight(request_)) == {}


def test_missing_fiscal_year_unknown_cost_center_and_mapped_account(session: VismaSession, request_) -> None:
    broken = replace(request_, on_date=date(2027, 1, 5), cost_center="NOPE")
    failures = failed(session.preflight(broken))
    assert set(failures) == {"fiscal_year", "accounts", "cost_center"}
    assert "Räkenskapsår" in failures["fiscal_year"]
    unknown = replace(request_, mapping=replace(request_.mapping, tips=2899))
    results = {r.name: r for r in session.preflight(unknown)}
    assert not results["accounts"].ok and "2899 does not exist" in results["accounts"].evidence


def test_missing_scopes_fail_and_a_new_consent_fixes_them(
    http, tokens, session: VismaSession, request_
) -> None:
    tokens.replace(connect(http, visma_settings(), ("ea:api", "ea:accounting", "offline_access")))
    failures = failed(session.preflight(request_))
    assert set(failures) == {"scopes", "lock_date"}  # without ea:sales_readonly the lock date is unreadable
    assert "connect Dagskassa again" in failures["scopes"]
    tokens.replace(connect(http, visma_settings()))
    assert failed(session.preflight(request_)) == {}
