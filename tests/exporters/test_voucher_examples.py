"""Worked examples, computed by hand in the comments, checked row by row."""

from __future__ import annotations

from decimal import Decimal

import pytest

from config.bas import bas_default_mapping_data
from exporters.core import (
    BuildOptions,
    CannotBuildVoucher,
    build_voucher,
    parse_mapping,
    parse_z_report,
    reverse_voucher,
)
from exporters.core.voucher import DESCRIPTION_MAX, ROW_TEXT_MAX
from tests.exporters.zreports import minimal_day, restaurant_day

D = Decimal


def mapping(**changes):
    return parse_mapping(changes, base=bas_default_mapping_data())


def rows_of(voucher):
    """(account, debit, credit) per row, in the voucher's order, as strings for readable failures."""
    return [(row.account, str(row.debit), str(row.credit)) for row in voucher.rows]


def test_restaurant_day_by_hand():
    # Sales incl. VAT:  Dryck 25 %  4 000,00 + 1 000,00 = 5 000,00
    #                   Mat 12 %    8 000,00 +   960,00 = 8 960,00
    #                   Tidningar 6 %  500,00 +   30,00 =   530,00
    #                   Presentkort 0 % (sold gift cards) 400,00
    #                   gross sales 14 890,00
    # Return:           Mat 12 %      100,00 +    12,00 =   112,00
    # Card tips 250,00, rounding -0,40:
    # payments must be 14 890,00 - 112,00 + 250,00 - 0,40 = 15 027,60
    #   = cash 2 927,60 + card 9 000,00 + Swish 2 500,00 + gift cards redeemed 600,00.
    # Cash count: expected 4 927,60 (float 2 000,00 + cash), counted 4 917,60 -> shortage 10,00.
    z = parse_z_report(restaurant_day())
    voucher = build_voucher(
        z, mapping(product_groups={"Presentkort": {"0": 2421}}, cash_difference=6990, cost_center="REST1")
    )
    assert rows_of(voucher) == [
        (1910, "2927.60", "0.00"),  # cash taken
        (1580, "9000.00", "0.00"),  # card, tip included
        (1930, "2500.00", "0.00"),  # Swish
        (2421, "600.00", "0.00"),  # gift cards redeemed: the liability shrinks
        (1910, "0.00", "10.00"),  # the shortage leaves the till ...
        (6990, "10.00", "0.00"),  # ... and is a cost
        (2421, "0.00", "400.00"),  # gift cards sold: a liability, no VAT
        (3001, "0.00", "4000.00"),  # Dryck 25 %
        (3002, "0.00", "7900.00"),  # Mat 12 %: 8 000,00 sold - 100,00 returned
        (3003, "0.00", "500.00"),  # Tidningar 6 %
        (2611, "0.00", "1000.00"),  # VAT 25 %
        (2621, "0.00", "948.00"),  # VAT 12 %: 960,00 - 12,00
        (2631, "0.00", "30.00"),  # VAT 6 %
        (2890, "0.00", "250.00"),  # card tips owed to staff
        (3740, "0.40", "0.00"),  # the customers paid 0,40 less than the prices
    ]
    # Debits 2 927,60 + 9 000 + 2 500 + 600 + 10 + 0,40 = 15 038,00 = credits
    # 10 + 400 + 4 000 + 7 900 + 500 + 1 000 + 948 + 30 + 250 = 15 038,00.
    assert voucher.total_debit == voucher.total_credit == D("15038.00")
    assert all(row.cost_center == "REST1" for row in voucher.rows)
    assert voucher.transaction_date.isoformat() == "2026-03-14"
    assert voucher.description.startswith("Z 142 Kassa 1 2026-03-14 [dk:")
    assert voucher.description.endswith(f"[{voucher.marker}]")


def test_restaurant_day_without_cash_difference_account_names_the_fix():
    z = parse_z_report(restaurant_day())
    with pytest.raises(CannotBuildVoucher) as caught:
        build_voucher(z, mapping(product_groups={"Presentkort": {"0": 2421}}))
    (problem,) = caught.value.problems
    assert problem.field == "cash_difference"
    assert "-10.00" in problem.message
    assert problem.kind == "unmapped"


def invoice_day():
    # Shop sales: 25 % net 2 000,00 + VAT 500,00; of which one sale on invoice to Bygg AB:
    #   net 800,00 + VAT 200,00 = 1 000,00, with a tip of 50,00 on the invoice.
    # Payments: card 1 500,00 and invoice 1 050,00 (1 000,00 + tip 50,00) = 2 550,00
    #   = gross 2 500,00 + tips 50,00.
    return minimal_day(
        sales=[{"product_group": "Varor", "vat_rate": "25", "net": "2000.00", "vat": "500.00"}],
        payments=[{"method": "card", "amount": "1500.00"}, {"method": "invoice", "amount": "1050.00"}],
        tips=[{"method": "invoice", "amount": "50.00"}],
        invoice_sales=[
            {
                "receipt_number": "R-1001",
                "customer": {"name": "Bygg AB", "org_number": "556677-8899"},
                "lines": [
                    {
                        "product_group": "Varor",
                        "vat_rate": "25",
                        "net": "800.00",
                        "vat": "200.00",
                        "description": "Skruv",
                    }
                ],
                "tip": "50.00",
            }
        ],
    )


def test_invoice_sales_with_invoicing_off_are_booked_on_1510():
    z = parse_z_report(invoice_day())
    voucher = build_voucher(z, mapping(), BuildOptions(invoicing=False))
    # Everything on the voucher: the invoice receivable 1510 carries the invoice and its tip.
    assert rows_of(voucher) == [
        (1580, "1500.00", "0.00"),
        (1510, "1050.00", "0.00"),
        (3001, "0.00", "2000.00"),
        (2611, "0.00", "500.00"),
        (2890, "0.00", "50.00"),
    ]


def test_invoice_sales_with_invoicing_on_are_left_out_on_both_sides():
    z = parse_z_report(invoice_day())
    voucher = build_voucher(z, mapping(), BuildOptions(invoicing=True))
    # The invoice (1 000,00 + tip 50,00) goes to Fortnox as an invoice; what remains is the card sale:
    # 1580 debit 1 500,00 = 3001 credit 2 000,00 - 800,00 = 1 200,00 + 2611 credit 500,00 - 200,00.
    assert rows_of(voucher) == [
        (1580, "1500.00", "0.00"),
        (3001, "0.00", "1200.00"),
        (2611, "0.00", "300.00"),
    ]


def test_invoicing_on_without_invoice_details_says_what_to_do():
    data = invoice_day()
    del data["invoice_sales"]
    data["tips"] = []
    data["payments"][1]["amount"] = "1000.00"
    z = parse_z_report(data)
    with pytest.raises(CannotBuildVoucher) as caught:
        build_voucher(z, mapping(), BuildOptions(invoicing=True))
    assert caught.value.problems[0].field == "invoice_sales"
    assert "turn off invoicing" in caught.value.problems[0].fix


def test_food_at_six_percent_from_april_2026():
    # From 2026-04-01 food is 6 % (was 12 %). The register reports the rate on each row; the accounts
    # follow the rate: Mat 6 % net 3 000,00 -> 3003, VAT 180,00 -> 2631; Dryck 25 % net 400,00 -> 3001,
    # VAT 100,00 -> 2611. Paid: Swish 3 680,00.
    z = parse_z_report(
        minimal_day(
            business_date="2026-04-01",
            sales=[
                {"product_group": "Mat", "vat_rate": "6", "net": "3000.00", "vat": "180.00"},
                {"product_group": "Dryck", "vat_rate": "25", "net": "400.00", "vat": "100.00"},
            ],
            payments=[{"method": "swish", "amount": "3680.00"}],
        )
    )
    voucher = build_voucher(z, mapping())
    assert rows_of(voucher) == [
        (1930, "3680.00", "0.00"),
        (3001, "0.00", "400.00"),
        (3003, "0.00", "3000.00"),
        (2611, "0.00", "100.00"),
        (2631, "0.00", "180.00"),
    ]


def test_every_unmapped_key_in_one_error():
    z = parse_z_report(
        minimal_day(
            sales=[
                {"product_group": "Varor", "vat_rate": "25", "net": "1000.00", "vat": "250.00"},
                {"product_group": "Lotter", "vat_rate": "0", "net": "100.00", "vat": "0.00"},
            ],
            payments=[
                {"method": "card", "amount": "1000.00"},
                {"method": "lunch_voucher", "amount": "340.00"},
                {"method": "klarna", "amount": "10.00"},
            ],
        )
    )
    bare = parse_mapping(
        {"payment_methods": {"card": 1580}, "output_vat": {"25": 2611}, "revenue_by_vat_rate": {"25": 3001}}
    )
    with pytest.raises(CannotBuildVoucher) as caught:
        build_voucher(z, bare)
    keys = sorted(problem.key for problem in caught.value.unmapped)
    assert keys == ["payment_method:klarna", "payment_method:lunch_voucher", "product_group:Lotter:0"]
    assert "340.00" in str(caught.value)


def test_mandatory_cost_center_without_one_is_a_mapping_error_and_notallowed_rows_get_none():
    z = parse_z_report(minimal_day())
    with pytest.raises(CannotBuildVoucher) as caught:
        build_voucher(z, mapping(cost_center_rules={"3001": "MANDATORY"}))
    assert caught.value.problems[0].field == "cost_center"
    assert "3001" in caught.value.problems[0].message
    voucher = build_voucher(z, mapping(cost_center="BUT1", cost_center_rules={"1580": "NOTALLOWED"}))
    centers = {row.account: row.cost_center for row in voucher.rows}
    assert centers == {1580: None, 3001: "BUT1", 2611: "BUT1"}


def test_marker_is_stable_and_description_and_texts_fit_fortnox_limits():
    long_register = "Kassa " + "X" * 300
    data = minimal_day(register={"id": long_register, "control_unit_id": "CU-1"})
    data["sales"][0]["product_group"] = "G" * 150
    first = build_voucher(parse_z_report(data), mapping())
    again = build_voucher(parse_z_report(data), mapping())
    assert first.marker == again.marker
    assert len(first.description) == DESCRIPTION_MAX
    assert first.description.endswith(f"2026-11-20 [{first.marker}]")
    assert all(len(row.text) <= ROW_TEXT_MAX for row in first.rows)
    other = build_voucher(parse_z_report(minimal_day(z_number=8)), mapping())
    assert other.marker != first.marker


def test_reversal_cancels_the_voucher_and_is_told_apart():
    z = parse_z_report(minimal_day())
    voucher = build_voucher(z, mapping())
    reversal = reverse_voucher(voucher, z)
    assert reversal.marker != voucher.marker
    for row, reversed_row in zip(voucher.rows, reversal.rows, strict=True):
        assert (row.account, row.debit, row.credit) == (
            reversed_row.account,
            reversed_row.credit,
            reversed_row.debit,
        )
    corrected = build_voucher(z, mapping(), BuildOptions(revision=1))
    assert len({voucher.marker, reversal.marker, corrected.marker}) == 3


def test_returns_larger_than_sales_of_a_group_turn_its_rows_into_debits():
    # Varor 25 %: sold 100,00 + 25,00, returned 300,00 + 75,00 -> net -200,00, VAT -50,00.
    # Mat 12 %: sold 1 000,00 + 120,00. Card paid 125 + 1 120 - 375 = 870,00.
    # Debits 870 + 200 + 50 = 1 120,00 = credits 1 000 + 120.
    z = parse_z_report(
        minimal_day(
            sales=[
                {"product_group": "Varor", "vat_rate": "25", "net": "100.00", "vat": "25.00"},
                {"product_group": "Mat", "vat_rate": "12", "net": "1000.00", "vat": "120.00"},
            ],
            returns=[{"product_group": "Varor", "vat_rate": "25", "net": "300.00", "vat": "75.00"}],
            payments=[{"method": "card", "amount": "870.00"}],
        )
    )
    assert rows_of(build_voucher(z, mapping())) == [
        (1580, "870.00", "0.00"),
        (3001, "200.00", "0.00"),
        (3002, "0.00", "1000.00"),
        (2611, "50.00", "0.00"),
        (2621, "0.00", "120.00"),
    ]


def test_a_voucher_survives_its_json_form():
    from exporters.core import Voucher

    voucher = build_voucher(parse_z_report(restaurant_day()), mapping(cash_difference=6990))
    assert Voucher.from_dict(voucher.to_dict()) == voucher
