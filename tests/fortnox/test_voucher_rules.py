"""Every voucher rule Fortnox enforces: the sandbox refuses the voucher with Fortnox's code (or the
sandbox's own code where Fortnox's is unpublished), nothing is stored, and the client's error carries
the fix a store manager can act on."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from config.bas import bas_default_mapping_data
from exporters.core import BuildOptions, Rejected, Voucher, build_voucher, parse_mapping, parse_z_report
from exporters.core.errors import Reconnect
from exporters.fortnox.client import FortnoxClient
from exporters.fortnox.sandbox import SandboxState
from exporters.fortnox.sandbox import errors as codes
from tests.exporters.zreports import minimal_day
from tests.fortnox.conftest import EXEMPELKROGEN, connect, make_client

THIS_YEAR, LAST_YEAR = 2, 1  # the sandbox's financial year ids


def day_voucher(on: date, **mapping_changes) -> Voucher:
    """The minimal day (card 1250 = 3001 1000 + 2611 250) dated ``on``, cost center REST1."""
    mapping = parse_mapping({"cost_center": "REST1", **mapping_changes}, bas_default_mapping_data())
    z_report = parse_z_report(minimal_day(business_date=on.isoformat()))
    return build_voucher(z_report, mapping, BuildOptions(voucher_series="K"))


def vouchers_in(sandbox: SandboxState) -> int:
    return len(sandbox.tenants[EXEMPELKROGEN].vouchers)


def test_a_valid_voucher_is_posted_with_marker_rows_and_dimensions(
    client: FortnoxClient, sandbox, today
) -> None:
    voucher = day_voucher(today)
    posted = client.create_voucher(voucher, THIS_YEAR)
    assert (posted.series, posted.number, posted.year) == ("K", 1, THIS_YEAR)
    stored = sandbox.tenants[EXEMPELKROGEN].vouchers[(THIS_YEAR, "K", 1)]
    assert f"[{voucher.marker}]" in stored.description
    assert [(r.account, r.debit, r.credit, r.cost_center) for r in stored.rows] == [
        (1580, Decimal("1250.00"), Decimal("0.00"), "REST1"),
        (3001, Decimal("0.00"), Decimal("1000.00"), "REST1"),
        (2611, Decimal("0.00"), Decimal("250.00"), "REST1"),
    ]
    read_back = client.voucher("K", 1, THIS_YEAR)
    assert [row["Account"] for row in read_back["VoucherRows"]] == [1580, 3001, 2611]
    assert read_back["VoucherRows"][0]["Debit"] == Decimal("1250")


def unbalanced(voucher: Voucher) -> Voucher:
    first = dataclasses.replace(voucher.rows[0], debit=voucher.rows[0].debit + Decimal("0.01"))
    return dataclasses.replace(voucher, rows=(first, *voucher.rows[1:]))


def one_row(voucher: Voucher) -> Voucher:
    return dataclasses.replace(voucher, rows=voucher.rows[:1])


def set_account(number: int, **fields) -> Callable[[SandboxState], None]:
    def change(sandbox: SandboxState) -> None:
        account = sandbox.tenants[EXEMPELKROGEN].accounts[number]
        for name, value in fields.items():
            setattr(account, name, value)

    return change


def remove_account(number: int) -> Callable[[SandboxState], None]:
    return lambda sandbox: sandbox.tenants[EXEMPELKROGEN].accounts.pop(number)


def nothing(sandbox: SandboxState) -> None:
    return None


# rule, how to break it (sandbox change, voucher change, date, year), Fortnox's code, words of the fix
RULES = [
    ("balance", nothing, unbalanced, None, THIS_YEAR, codes.VOUCHER_UNBALANCED, "does not balance"),
    ("two rows", nothing, one_row, None, THIS_YEAR, codes.VOUCHER_TOO_FEW_ROWS, "too few rows"),
    ("account exists", remove_account(1580), None, None, THIS_YEAR, 2001304, "chart of accounts"),
    ("account active", set_account(1580, active=False), None, None, THIS_YEAR, codes.ACCOUNT_INACTIVE,
     "activate it in the chart of accounts"),
    ("series exists", nothing, "Z", None, THIS_YEAR, codes.SERIES_NOT_FOUND, "create it there"),
    ("series manual", nothing, "A", None, THIS_YEAR, codes.SERIES_NOT_MANUAL, "tick 'Manuell'"),
    ("date in a financial year", nothing, None, date(2031, 6, 1), THIS_YEAR, codes.NO_FINANCIAL_YEAR,
     "create the new financial year"),
    ("date after the locked period", nothing, None, "last year", LAST_YEAR, 2000401, "unlock the period"),
    ("cost center exists", nothing, {"cost_center": "NOPE"}, None, THIS_YEAR, codes.COST_CENTER_NOT_FOUND,
     "create or activate it"),
    ("cost center active", nothing, {"cost_center": "GAMMAL"}, None, THIS_YEAR, 2000947,
     "activate it (Register > Kostnadsställen)"),
    ("cost center where mandatory", set_account(3001, cost_center_settings="MANDATORY"), {"cost_center": None},
     None, THIS_YEAR, codes.COST_CENTER_MANDATORY, "set the store's cost center"),
    ("no cost center where not allowed", set_account(1580, cost_center_settings="NOTALLOWED"), None, None,
     THIS_YEAR, codes.COST_CENTER_NOT_ALLOWED, "reload the chart of accounts"),
    ("project exists", nothing, {"project": "P9"}, None, THIS_YEAR, codes.PROJECT_NOT_FOUND, "Register > Projekt"),
    ("project where mandatory", set_account(3001, project_settings="MANDATORY"), None, None, THIS_YEAR,
     codes.PROJECT_MANDATORY, "set the store's project"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "break_sandbox", "change", "on", "year", "code", "fix"), RULES, ids=[rule[0] for rule in RULES]
)
def test_each_rule_is_refused_with_fortnoxs_code_and_the_fix(
    client, sandbox, today, sent_bodies, rule, break_sandbox, change, on, year, code, fix
) -> None:
    if rule == "two rows":  # the schema already forbids it; sent anyway to see Fortnox refuse it
        sent_bodies.expected = ["POST /3/vouchers: [{'Account': 1580, 'Debit': 1250.0, 'Credit': 0.0, "
                                "'TransactionInformation': 'Kort', 'CostCenter': 'REST1'}] is too short"]  # fmt: skip
    on = date(today.year - 1, 6, 1) if on == "last year" else on or today
    break_sandbox(sandbox)
    voucher = day_voucher(on, **change) if isinstance(change, dict) else day_voucher(on)
    series = change if isinstance(change, str) else None
    if callable(change):
        voucher = change(voucher)
    with pytest.raises(Rejected) as caught:
        client.create_voucher(voucher, year, series)
    assert caught.value.code == code
    assert fix in caught.value.fix
    assert caught.value.message  # Fortnox's own words, shown to the manager next to the fix
    assert vouchers_in(sandbox) == 0


def test_without_the_bookkeeping_scope_the_connection_must_be_renewed(http, sandbox, today) -> None:
    store = connect(http, sandbox, scopes=("companyinformation", "settings"))
    with pytest.raises(Reconnect) as caught:
        make_client(http, sandbox, store).create_voucher(day_voucher(today), THIS_YEAR)
    assert "connect again" in caught.value.fix
    assert vouchers_in(sandbox) == 0


def test_without_the_licence_the_manager_is_told_to_add_it(client, sandbox, today) -> None:
    sandbox.tenants[EXEMPELKROGEN].licenses.discard("bookkeeping")
    with pytest.raises(Reconnect) as caught:
        client.create_voucher(day_voucher(today), THIS_YEAR)
    assert "licence" in caught.value.fix
