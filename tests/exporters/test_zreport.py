"""The Z-report contract (DESIGN.md section 2): every invariant refused with the field and the amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exporters.core import ZReportInvalid, parse_z_report
from exporters.core.zreport import org_number_is_valid
from tests.exporters.zreports import minimal_day, restaurant_day


def problems_of(data):
    with pytest.raises(ZReportInvalid) as caught:
        parse_z_report(data)
    return {problem.field: problem for problem in caught.value.problems}


def test_the_example_is_valid_and_complete():
    z = parse_z_report(restaurant_day())
    assert z.z_number == 142
    assert z.total_payments == Decimal("15027.60")
    assert z.missing_required_items() == []


def test_round_trip_through_the_json_form_keeps_the_content():
    z = parse_z_report(restaurant_day())
    again = parse_z_report(z.to_dict())
    assert again == z
    assert again.content_hash() == z.content_hash()


def test_same_report_spelled_differently_has_the_same_hash_and_a_change_does_not():
    data = minimal_day()
    spelled = minimal_day(
        sales=[{"product_group": "Varor", "vat_rate": "25.0", "net": "1000", "vat": "250.0"}]
    )
    assert parse_z_report(data).content_hash() == parse_z_report(spelled).content_hash()
    changed = minimal_day(z_number=8)
    assert parse_z_report(data).content_hash() != parse_z_report(changed).content_hash()


def test_payments_must_add_up_and_the_error_names_every_amount():
    data = minimal_day(payments=[{"method": "card", "amount": "1249.75"}], rounding="0.00")
    problem = problems_of(data)["payments"]
    for amount in ("1249.75", "1250.00", "-0.25"):
        assert amount in problem.message


def test_rounding_and_tips_enter_the_sum():
    # 1 250,00 sales + 20,00 tip - 0,25 rounding = 1 269,75
    data = minimal_day(
        payments=[{"method": "card", "amount": "1020.00"}, {"method": "cash", "amount": "249.75"}],
        tips=[{"method": "card", "amount": "20.00"}],
        rounding="-0.25",
    )
    assert parse_z_report(data).total_tips == Decimal("20.00")


def test_vat_must_match_the_rate_within_one_ore():
    ok = minimal_day(
        sales=[{"product_group": "Varor", "vat_rate": "25", "net": "1000.00", "vat": "250.01"}],
        payments=[{"method": "card", "amount": "1250.01"}],
    )
    parse_z_report(ok)
    bad = minimal_day(
        sales=[{"product_group": "Varor", "vat_rate": "25", "net": "1000.00", "vat": "250.02"}],
        payments=[{"method": "card", "amount": "1250.02"}],
    )
    problem = problems_of(bad)["sales[0].vat"]
    assert "250.02" in problem.message and "expected 250.00" in problem.message


@pytest.mark.parametrize("rate", ["20", "7.5", "abc"])
def test_unknown_vat_rates_are_refused(rate):
    data = minimal_day()
    data["sales"][0]["vat_rate"] = rate
    assert "sales[0].vat_rate" in problems_of(data)


def test_negative_amounts_are_refused_except_rounding_and_cash_difference():
    data = minimal_day(
        sales=[{"product_group": "Varor", "vat_rate": "25", "net": "-1000.00", "vat": "-250.00"}],
        payments=[{"method": "card", "amount": "-1250.00"}],
    )
    problems = problems_of(data)
    assert {"sales[0].net", "sales[0].vat", "payments[0].amount"} <= set(problems)
    assert "returns go in returns" in problems["sales[0].net"].fix
    shortage = minimal_day(rounding="0.00", cash_count={"expected": "500.00", "counted": "480.00"})
    assert parse_z_report(shortage).cash_count.difference == Decimal("-20.00")


def test_floats_and_too_many_decimals_are_refused_with_the_fix():
    data = minimal_day()
    data["sales"][0]["net"] = 1000.5
    data["payments"][0]["amount"] = "1250.005"
    problems = problems_of(data)
    assert "send amounts as strings" in problems["sales[0].net"].message
    assert "more than two decimals" in problems["payments[0].amount"].message


def test_all_problems_of_one_report_come_together():
    data = minimal_day(org_number="556677-8898", currency="EUR", z_number=0, business_date="2026-13-01")
    del data["register"]
    problems = problems_of(data)
    assert {"org_number", "currency", "z_number", "business_date", "register"} <= set(problems)


def test_times_need_an_offset_and_close_after_open():
    problems = problems_of(
        minimal_day(opened_at="2026-11-20T09:00:00", closed_at="2026-11-19T09:00:00+01:00")
    )
    assert "opened_at" in problems and "no UTC offset" in problems["opened_at"].message
    problems = problems_of(minimal_day(closed_at="2026-11-20T08:00:00+01:00"))
    assert "closed_at" in problems


def test_tips_must_come_through_a_method_that_was_paid_with():
    data = minimal_day(
        payments=[{"method": "card", "amount": "1270.00"}],
        tips=[{"method": "swish", "amount": "20.00"}],
    )
    assert "swish" in problems_of(data)["tips"].message


def test_invoice_sales_must_agree_with_the_invoice_payments():
    data = minimal_day(
        payments=[{"method": "card", "amount": "250.00"}, {"method": "invoice", "amount": "1000.00"}],
        invoice_sales=[
            {
                "receipt_number": "R1",
                "customer": {"name": "Kund AB"},
                "lines": [{"product_group": "Varor", "vat_rate": "25", "net": "400.00", "vat": "100.00"}],
            }
        ],
    )
    problem = problems_of(data)["invoice_sales"]
    assert "500.00" in problem.message and "1000.00" in problem.message


def test_invoice_lines_must_be_part_of_the_days_sales():
    data = minimal_day(
        payments=[{"method": "invoice", "amount": "1250.00"}],
        invoice_sales=[
            {
                "receipt_number": "R1",
                "customer": {"name": "Kund AB"},
                "lines": [{"product_group": "Annat", "vat_rate": "25", "net": "1000.00", "vat": "250.00"}],
            }
        ],
    )
    assert "Annat" in problems_of(data)["invoice_sales"].message


def test_payment_method_keys_are_checked():
    data = minimal_day(payments=[{"method": "Kort Visa!", "amount": "1250.00"}])
    assert "payments[0].method" in problems_of(data)


def test_not_an_object_at_all():
    with pytest.raises(ZReportInvalid) as caught:
        parse_z_report(["not", "a", "report"])
    assert caught.value.problems[0].field == "z_report"


def test_missing_skatteverket_items_are_listed_not_refused():
    z = parse_z_report(minimal_day())
    missing = z.missing_required_items()
    assert any(item.startswith("company_name") for item in missing)
    assert any(item.startswith("grand_totals") for item in missing)


@pytest.mark.parametrize(
    ("number", "valid"),
    [("556677-8899", True), ("5566778899", True), ("556677-8898", False), ("55667-8899", False), ("", False)],
)
def test_org_number_check_digit(number, valid):
    assert org_number_is_valid(number) is valid
