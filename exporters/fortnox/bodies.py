"""The bodies Dagskassa sends to Fortnox, built from the core's voucher and invoice sales.

Field names, types and lengths follow Fortnox's published schema (checked in the tests against
``exporters.fortnox.schemas``). Amounts are written as JSON numbers from ``Decimal``, never through
``float``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from exporters.core.errors import FixData
from exporters.core.mapping import NOTALLOWED, AccountMapping
from exporters.core.voucher import ROW_TEXT_MAX, Voucher
from exporters.core.zreport import InvoiceSale
from exporters.jsonmoney import encode_json as encode_json


def voucher_body(voucher: Voucher, series: str | None = None) -> dict[str, Any]:
    """The POST /3/vouchers body of a core voucher: Description with the marker, one row per row with
    TransactionInformation (at most 100 characters) and the row's cost center and project."""
    chosen = series or voucher.series
    if not chosen:
        raise FixData(
            "no voucher series is chosen for the store",
            "choose a manual voucher series (e.g. K or F) in the integration settings",
        )
    rows = []
    for row in voucher.rows:
        item: dict[str, Any] = {"Account": row.account, "Debit": row.debit, "Credit": row.credit}
        if row.text:
            item["TransactionInformation"] = row.text[:ROW_TEXT_MAX]
        if row.cost_center:
            item["CostCenter"] = row.cost_center
        if row.project:
            item["Project"] = row.project
        rows.append(item)
    return {
        "Voucher": {
            "Description": voucher.description,
            "TransactionDate": voucher.transaction_date.isoformat(),
            "VoucherSeries": chosen,
            "VoucherRows": rows,
        }
    }


def invoice_body(
    sale: InvoiceSale,
    customer_number: str,
    mapping: AccountMapping,
    on_date: date,
    reference: str,
    tip_on_invoice: bool,
    as_order: bool,
) -> dict[str, Any]:
    """The Invoice (or Order) object for a sale on account: one row per line at its net price and VAT
    rate on the mapped revenue account, and a VAT-free tip row on the tips account when allowed."""
    rows: list[dict[str, Any]] = []
    problems = []
    quantity_field = "OrderedQuantity" if as_order else "DeliveredQuantity"
    for index, line in enumerate(sale.lines):
        account = mapping.revenue_account(line.product_group, line.vat_rate)
        if account is None:
            problems.append(f"lines[{index}]: product group {line.product_group!r} at {line.vat_rate} %")
            continue
        quantity, price = line.quantity, line.net / line.quantity if line.quantity else line.net
        if price != price.quantize(Decimal("0.01")):
            quantity, price = Decimal(1), line.net
        row = {
            "AccountNumber": account,
            "Description": (line.description or line.product_group)[:50],
            quantity_field: format(quantity.normalize(), "f"),
            "Price": price.quantize(Decimal("0.01")),
            "VAT": int(line.vat_rate),
        }
        if as_order:
            row["DeliveredQuantity"] = row[quantity_field]
        rows.append(_with_dimensions(row, mapping, account))
    if sale.tip:
        if not tip_on_invoice:
            raise FixData(
                f"receipt {sale.receipt_number}: a tip of {sale.tip} was paid on invoice, but tips on "
                "invoices are turned off",
                "turn on 'allow tip on invoice' in the sync options, or correct the receipt on the register",
            )
        if mapping.tips is None:
            problems.append("tips: no tips account is mapped")
        else:
            tip_row = {
                "AccountNumber": mapping.tips,
                "Description": "Dricks",
                quantity_field: "1",
                "Price": sale.tip,
                "VAT": 0,
            }
            if as_order:
                tip_row["DeliveredQuantity"] = "1"
            rows.append(_with_dimensions(tip_row, mapping, mapping.tips))
    if problems:
        raise FixData(
            f"receipt {sale.receipt_number} cannot be invoiced: no account for " + "; ".join(problems),
            "map these in the account mapping",
        )
    document: dict[str, Any] = {
        "CustomerNumber": customer_number,
        "ExternalInvoiceReference1": reference[:80],
        "YourOrderNumber": sale.receipt_number[:75],
        "VATIncluded": False,
        ("OrderDate" if as_order else "InvoiceDate"): on_date.isoformat(),
        ("OrderRows" if as_order else "InvoiceRows"): rows,
    }
    return document


def _with_dimensions(row: dict[str, Any], mapping: AccountMapping, account: int) -> dict[str, Any]:
    if mapping.cost_center and mapping.cost_center_rule(account) != NOTALLOWED:
        row["CostCenter"] = mapping.cost_center
    if mapping.project and mapping.project_rule(account) != NOTALLOWED:
        row["Project"] = mapping.project
    return row
