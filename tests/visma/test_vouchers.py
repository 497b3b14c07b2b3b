"""Every voucher rule of the sandbox refuses with Visma's code, and the client's error carries the fix."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import httpx
import pytest

from exporters.core.errors import FixData, Rejected
from exporters.core.voucher import Voucher, VoucherRow
from exporters.visma.provider import VismaSession
from exporters.visma.sandbox import SandboxState
from exporters.visma.sandbox.admin import apply_company_change

DAY = date(2026, 3, 14)


def simple(rows: list[tuple[int, str, str]], on: date = DAY, cost_center: str | None = None) -> Voucher:
    return Voucher(
        transaction_date=on,
        description=f"Z 1 Kassa 1 {on} [dk:test]",
        marker="dk:test",
        rows=tuple(VoucherRow(a, Decimal(d), Decimal(c), "rad", cost_center=cost_center) for a, d, c in rows),
    )


BALANCED = [(1910, "100.00", "0"), (3001, "0", "80.00"), (2611, "0", "20.00")]
CASES = {
    "unbalanced": (simple([(1910, "100.00", "0"), (3001, "0", "99.00")]), {}, 2000, "does not balance"),
    "no fiscal year": (simple(BALANCED, date(2024, 5, 1)), {}, 3001, "Räkenskapsår"),
    "unknown account": (simple([(1910, "10.00", "0"), (3999, "0", "10.00")]), {}, 3002, "Kontoplan"),
    "locked period": (simple(BALANCED, date(2025, 12, 31)), {}, 4026, "locked period"),
    "locked year": (
        simple(BALANCED),
        {"fiscal_year_locked": {"date": "2026-03-14", "locked": True}},
        4038,
        "locked fiscal year",
    ),
    "inactive account": (
        simple(BALANCED),
        {"account": {"date": "2026-03-14", "number": 3001, "is_active": False}},
        2000,
        "inactive account",
    ),
    "inactive cost center": (
        simple([(3001, "0", "10.00"), (4010, "10.00", "0")], cost_center="GAMLA"),
        {},
        5006,
        "Kostnadsställen",
    ),
    "cost center not allowed": (
        simple([(3001, "0", "10.00"), (1910, "10.00", "0")], cost_center="KRO"),
        {},
        2000,
        "does not allow",
    ),
    "cost center mandatory": (
        simple(BALANCED),
        {"account": {"date": "2026-03-14", "number": 3001, "is_first_cost_center_mandatory": True}},
        2000,
        "requires a cost center",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_rule_is_refused_with_vismas_code_and_a_fix(
    session: VismaSession, state: SandboxState, case: str
) -> None:
    voucher, change, code, fix = CASES[case]
    apply_company_change(state.companies["exempelkrogen"], change)
    with pytest.raises(Rejected) as caught:
        session.post_voucher(voucher)
    assert caught.value.code == code
    assert fix in caught.value.fix
    assert state.stats["vouchers"] == 0 and not state.companies["exempelkrogen"].vouchers


def test_a_valid_voucher_is_numbered_in_the_default_series_with_its_cost_center(
    session: VismaSession, state: SandboxState
) -> None:
    first = session.post_voucher(simple([(3001, "0", "10.00"), (4010, "10.00", "0")], cost_center="KRO"))
    second = session.post_voucher(simple(BALANCED))
    assert (first.ref, second.ref, second.number) == ("A1", "A2", 2)
    assert first.rows == (
        (3001, Decimal("0.00"), Decimal("10.00")),
        (4010, Decimal("10.00"), Decimal("0.00")),
    )
    stored = state.ledger()[0]["vouchers"][0]
    kro = next(
        i
        for c in state.companies["exempelkrogen"].cost_centers.values()
        for i in c.items
        if i.short_name == "KRO"
    )
    assert stored["rows"][0]["cost_center_items"] == [kro.id]


def test_an_unknown_cost_center_is_the_stores_to_fix(session: VismaSession) -> None:
    with pytest.raises(FixData, match="not a cost center item"):
        session.post_voucher(simple([(3001, "0", "10.00"), (4010, "10.00", "0")], cost_center="NOPE"))


def test_a_chosen_series_is_used(session: VismaSession) -> None:
    posted = session.post_voucher(replace(simple(BALANCED), series="K"))
    assert posted.ref == "K1" and posted.series == "K"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"VoucherDate": "2026-03-14", "Description": "x", "VoucherText": "x", "Rows": []}, "Description"),
        ({"VoucherDate": "2026-03-14", "Rows": [{"AccountNumber": 1910, "DebitAmount": 1}]}, "VoucherText"),
        (
            {
                "VoucherDate": "2026-03-14",
                "VoucherText": "x",
                "Rows": [
                    {"AccountNumber": 1910, "DebitAmount": 1.005},
                    {"AccountNumber": 3001, "CreditAmount": 1.005},
                ],
            },
            "Rows[0].DebitAmount",
        ),
        (
            {
                "VoucherDate": "2026-03-14",
                "VoucherText": "x",
                "Rows": [
                    {"AccountNumber": 1910, "DebitAmount": -1},
                    {"AccountNumber": 3001, "CreditAmount": -1},
                ],
            },
            "Rows[0].DebitAmount",
        ),
        (
            {
                "VoucherDate": "2026-03-14",
                "VoucherText": "x",
                "Rows": [
                    {"AccountNumber": 1910, "DebitAmount": 1, "TransactionText": "x" * 61},
                    {"AccountNumber": 3001, "CreditAmount": 1},
                ],
            },
            "Rows[0].TransactionText",
        ),
        (
            {"VoucherDate": "2026-03-14", "VoucherText": "x" * 1001, "Rows": [{"AccountNumber": 1910}]},
            "VoucherText",
        ),
    ],
    ids=[
        "unknown member",
        "text missing",
        "three decimals",
        "negative",
        "row text too long",
        "text too long",
    ],
)
def test_the_model_is_validated_with_2000_and_the_field(
    http: httpx.Client, bearer: dict[str, str], body: dict, field: str
) -> None:
    answer = http.post("/v2/vouchers", json=body, headers=bearer)
    assert answer.status_code == 400
    error = answer.json()
    assert error["ErrorCode"] == 2000 and error["ErrorId"]
    assert error["Errors"][0]["Field"] == field


def test_vouchers_cannot_be_changed_or_deleted(
    http: httpx.Client, bearer: dict[str, str], session: VismaSession, state: SandboxState
) -> None:
    posted = session.post_voucher(simple(BALANCED))
    voucher = next(iter(state.companies["exempelkrogen"].vouchers.values()))
    for method in ("PUT", "DELETE"):
        answer = http.request(method, f"/v2/vouchers/{voucher.fiscal_year_id}/{voucher.id}", headers=bearer)
        assert answer.status_code == 405
    one = http.get(f"/v2/vouchers/{voucher.fiscal_year_id}/{voucher.id}", headers=bearer).json()
    assert one["NumberAndNumberSeries"] == posted.ref and one["Rows"][0]["AccountDescription"] == "Kassa"
