"""The bodies the client sends, built from the core's voucher and invoice sale, checked without a server.
(Every body the client really sends to the sandbox is also validated in conftest's request hook.)"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.bas import bas_default_mapping_data
from exporters.core import BuildOptions, FixData, build_voucher, parse_mapping, parse_z_report
from exporters.core.zreport import Customer, InvoiceLine, InvoiceSale
from exporters.fortnox.bodies import encode_json, invoice_body, voucher_body
from tests.exporters.zreports import restaurant_day


def restaurant_voucher():
    mapping = parse_mapping({"cash_difference": 6990, "cost_center": "REST1"}, bas_default_mapping_data())
    return build_voucher(parse_z_report(restaurant_day()), mapping, BuildOptions(voucher_series="K"))


def test_decimals_go_out_as_exact_json_numbers_and_floats_are_refused() -> None:
    assert encode_json({"Debit": Decimal("12345678901.10"), "Rows": [Decimal("0.00")], "T": "å"}) == (
        '{"Debit":12345678901.10,"Rows":[0.00],"T":"å"}'.encode()
    )
    with pytest.raises(TypeError):
        encode_json({"Debit": 0.1})


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=126)), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_anything_but_money_is_written_as_json_writes_it(value) -> None:
    """Strings are escaped by json's own functions: a value without a Decimal comes out byte for byte as
    json.dumps writes it (keys ASCII here: the encoder escapes keys to ASCII, values not)."""
    assert encode_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def test_voucher_body_carries_marker_rows_and_dimensions() -> None:
    voucher = restaurant_voucher()
    body = json.loads(encode_json(voucher_body(voucher)), parse_float=Decimal)["Voucher"]
    assert f"[{voucher.marker}]" in body["Description"]
    assert body["VoucherSeries"] == "K"
    assert body["TransactionDate"] == "2026-03-14"
    rows = body["VoucherRows"]
    assert len(rows) == len(voucher.rows)
    assert sum(row["Debit"] for row in rows) == sum(row["Credit"] for row in rows) == voucher.total_debit
    assert all(len(row["TransactionInformation"]) <= 100 for row in rows)
    assert {row.get("CostCenter") for row in rows} == {"REST1"}


def test_a_voucher_without_series_is_a_settings_error() -> None:
    voucher = restaurant_voucher()
    with pytest.raises(FixData, match="voucher series"):
        voucher_body(voucher.__class__(**{**voucher.__dict__, "series": None}))


def sale(tip: str = "0.00") -> InvoiceSale:
    return InvoiceSale(
        receipt_number="881",
        customer=Customer(name="Lunchklubben AB", org_number="556000-0001"),
        lines=(
            InvoiceLine("Mat", "12", Decimal("300.00"), Decimal("36.00"), "Lunch", Decimal("3")),
            InvoiceLine("Dryck", "25", Decimal("100.00"), Decimal("25.00"), "Vin", Decimal("3")),
        ),
        tip=Decimal(tip),
    )


def test_invoice_rows_at_net_price_with_vat_rate_and_revenue_account() -> None:
    mapping = parse_mapping({"cost_center": "REST1"}, bas_default_mapping_data())
    body = invoice_body(sale("50.00"), "1", mapping, date(2026, 11, 20), "Kvitto 881 [dk:x]", True, False)
    rows = body["InvoiceRows"]
    assert rows[0] == {
        "AccountNumber": 3002,
        "Description": "Lunch",
        "DeliveredQuantity": "3",
        "Price": Decimal("100.00"),
        "VAT": 12,
        "CostCenter": "REST1",
    }
    # 100.00 / 3 is not whole öre: one row at the line's net instead, nothing lost to rounding
    assert (rows[1]["DeliveredQuantity"], rows[1]["Price"]) == ("1", Decimal("100.00"))
    assert rows[2]["AccountNumber"] == 2890 and rows[2]["VAT"] == 0 and rows[2]["Price"] == Decimal("50.00")
    assert body["InvoiceDate"] == "2026-11-20" and body["ExternalInvoiceReference1"] == "Kvitto 881 [dk:x]"


def test_order_rows_use_ordered_quantity() -> None:
    mapping = parse_mapping({}, bas_default_mapping_data())
    body = invoice_body(sale(), "1", mapping, date(2026, 11, 20), "ref", False, True)
    assert body["OrderDate"] == "2026-11-20"
    assert body["OrderRows"][0]["OrderedQuantity"] == "3"
    assert body["OrderRows"][0]["DeliveredQuantity"] == "3"


def test_a_tip_on_invoice_when_tips_on_invoices_are_off_is_refused_not_dropped() -> None:
    mapping = parse_mapping({}, bas_default_mapping_data())
    with pytest.raises(FixData, match=r"tip of 50\.00"):
        invoice_body(sale("50.00"), "1", mapping, date(2026, 11, 20), "ref", False, False)


def test_an_unmapped_product_group_is_named() -> None:
    mapping = parse_mapping({"revenue_by_vat_rate": {"12": None}}, bas_default_mapping_data())
    with pytest.raises(FixData, match="'Mat' at 12 %"):
        invoice_body(sale(), "1", mapping, date(2026, 11, 20), "ref", False, False)
