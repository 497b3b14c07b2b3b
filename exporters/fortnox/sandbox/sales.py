"""Invoices (scope ``invoice``) and orders (``order``), as far as the product uses them: create, read,
list with filters, book an invoice (Fortnox makes its voucher in series B), turn an order into an invoice.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Response, request

from exporters.fortnox.sandbox import errors
from exporters.fortnox.sandbox.api import (
    answer,
    bp,
    endpoint,
    paginate,
    parse_date,
    read_body,
    sandbox_state,
    url,
)
from exporters.fortnox.sandbox.books import Tenant
from exporters.fortnox.sandbox.customers import check_filter, find_customer, like
from exporters.fortnox.sandbox.errors import invalid, not_found
from exporters.fortnox.sandbox.vouchers import create_voucher

CENT = Decimal("0.01")
SALES_ACCOUNT = 3001
RECEIVABLES_ACCOUNT = 1510
VAT_ACCOUNTS = {Decimal(25): 2611, Decimal(12): 2621, Decimal(6): 2631}
INVOICE_SERIES = "B"

# -- documents (invoices and orders) ---------------------------------------------------------------------


def _rows(tenant: Tenant, rows: list[dict[str, Any]], quantity_field: str) -> list[dict[str, Any]]:
    """Rows with Fortnox's defaults and computed totals; accounts and cost centers must exist."""
    out = []
    for row in rows:
        account = row.get("AccountNumber", SALES_ACCOUNT)
        if account not in tenant.accounts:
            raise invalid(errors.ACCOUNT_NOT_FOUND, f"Kunde inte hitta konto ({account})")
        if not tenant.accounts[account].active:
            raise invalid(errors.ACCOUNT_INACTIVE, f'Konto "{account}" är inte aktivt')
        cost_center = row.get("CostCenter", "")
        if cost_center and cost_center not in tenant.cost_centers:
            raise invalid(errors.COST_CENTER_NOT_FOUND, f"Kan inte hitta kostnadsställe {cost_center}")
        quantity = _quantity(row.get(quantity_field, row.get("DeliveredQuantity", "1")), quantity_field)
        price = Decimal(row.get("Price", 0))
        out.append(
            {
                **row,
                "AccountNumber": account,
                "CostCenter": cost_center,
                "Description": row.get("Description", ""),
                "Price": price,
                "VAT": int(row.get("VAT", 25))
                if row.get("VAT", 25) == int(row.get("VAT", 25))
                else row["VAT"],
                quantity_field: f"{quantity:.2f}",
                "Total": (price * quantity).quantize(CENT, ROUND_HALF_UP),
            }
        )
    return out


def _quantity(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise invalid(errors.NOT_NUMERIC, f"{field} måste vara numeriskt") from None


def _totals(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
    net = sum((row["Total"] for row in rows), Decimal(0))
    vat = sum(((row["Total"] * row["VAT"] / 100).quantize(CENT, ROUND_HALF_UP) for row in rows), Decimal(0))
    return {"Net": net, "TotalVAT": vat, "Total": net + vat, "Gross": net + vat, "TotalToPay": net + vat}


def _document(tenant: Tenant, fields: dict[str, Any], number: int, date_field: str) -> dict[str, Any]:
    customer = find_customer(tenant, fields["CustomerNumber"])
    today = sandbox_state().clock.today()
    document = {
        "Address1": customer.get("Address1") or "",
        "City": customer.get("City") or "",
        "Comments": "",
        "CostCenter": "",
        "Currency": "SEK",
        "CustomerName": customer["Name"],
        "DocumentNumber": str(number),
        "OrganisationNumber": customer.get("OrganisationNumber", ""),
        "Project": "",
        "Cancelled": False,
        "Sent": False,
        "VATIncluded": False,
        "YourReference": "",
        "OurReference": "",
        "Remarks": "",
        "ExternalInvoiceReference1": "",
        "ExternalInvoiceReference2": "",
        date_field: today.isoformat(),
    }
    document.update(fields)
    return document


# -- invoices --------------------------------------------------------------------------------------------

INVOICE_LIST_FIELDS = (
    "Balance", "Booked", "Cancelled", "CostCenter", "Currency", "CustomerName", "CustomerNumber",
    "DocumentNumber", "DueDate", "ExternalInvoiceReference1", "ExternalInvoiceReference2", "InvoiceDate",
    "InvoiceType", "OCR", "Project", "Sent", "TermsOfPayment", "Total", "VoucherNumber", "VoucherSeries",
    "VoucherYear",
)  # fmt: skip


def invoice_json(invoice: dict[str, Any]) -> dict[str, Any]:
    return {"@url": url(f"invoices/{invoice['DocumentNumber']}"), **invoice}


def new_invoice(tenant: Tenant, fields: dict[str, Any]) -> dict[str, Any]:
    number = max(tenant.invoices, default=0) + 1
    invoice = _document(tenant, fields, number, "InvoiceDate")
    rows = _rows(tenant, fields.get("InvoiceRows", []), "DeliveredQuantity")
    invoice_date = date.fromisoformat(invoice["InvoiceDate"])
    totals = _totals(rows)
    invoice.update(
        InvoiceRows=rows,
        InvoiceType=invoice.get("InvoiceType", "INVOICE"),
        DueDate=invoice.get("DueDate", (invoice_date + timedelta(days=30)).isoformat()),
        TermsOfPayment=invoice.get("TermsOfPayment", "30"),
        OCR=f"{number}{number % 10}",
        Booked=False,
        Balance=totals["Total"],
        Credit="false",
        VoucherNumber=None,
        VoucherSeries=None,
        VoucherYear=None,
        **totals,
    )
    tenant.invoices[number] = invoice
    return invoice


@bp.post("/invoices")
@endpoint("invoice")
def create_invoice(tenant: Tenant) -> Response:
    invoice = new_invoice(tenant, read_body("Invoice", "InvoicePayload"))
    return answer({"Invoice": invoice_json(invoice)}, 201, "invoices")


def _invoice_in_filter(invoice: dict[str, Any], wanted: str | None) -> bool:
    unpaid = invoice["Balance"] > 0 and not invoice["Cancelled"]
    today = sandbox_state().clock.today().isoformat()
    return {
        None: True,
        "cancelled": invoice["Cancelled"],
        "fullypaid": not unpaid and not invoice["Cancelled"],
        "unpaid": unpaid,
        "unpaidoverdue": unpaid and invoice["DueDate"] < today,
        "unbooked": not invoice["Booked"] and not invoice["Cancelled"],
    }[wanted]


@bp.get("/invoices")
@endpoint("invoice")
def invoices(tenant: Tenant) -> Response:
    wanted = check_filter("invoices")
    found = [
        {"@url": url(f"invoices/{number}"), **{field: invoice.get(field) for field in INVOICE_LIST_FIELDS}}
        for number, invoice in sorted(tenant.invoices.items())
        if _invoice_in_filter(invoice, wanted) and _document_matches(invoice, "InvoiceDate")
    ]
    return paginate(found, "Invoices")


@bp.get("/invoices/<int:number>")
@endpoint("invoice")
def invoice(tenant: Tenant, number: int) -> Response:
    return answer({"Invoice": invoice_json(_invoice(tenant, number))})


@bp.put("/invoices/<int:number>/bookkeep")
@endpoint("invoice")
def bookkeep_invoice(tenant: Tenant, number: int) -> Response:
    """Book the invoice: Fortnox itself makes the voucher (series B), so the series need not be manual."""
    found = _invoice(tenant, number)
    if found["Booked"]:
        raise invalid(errors.INVOICE_ALREADY_BOOKED, f"Faktura {number} är redan bokförd")
    day = date.fromisoformat(found["InvoiceDate"])
    year = tenant.year_for(day)
    if year is None:
        raise invalid(errors.NO_FINANCIAL_YEAR, f"Räkenskapsår saknas för valt datum ({day})")
    credit_rows: dict[tuple[int, str], Decimal] = {}
    for row in found["InvoiceRows"]:
        quantity = _quantity(row["DeliveredQuantity"], "DeliveredQuantity")
        net = (row["Price"] * quantity).quantize(CENT, ROUND_HALF_UP)
        vat = (net * row["VAT"] / 100).quantize(CENT, ROUND_HALF_UP)
        key = (row["AccountNumber"], row["CostCenter"])
        credit_rows[key] = credit_rows.get(key, Decimal(0)) + net
        if vat:
            vat_key = (VAT_ACCOUNTS.get(Decimal(row["VAT"]), 2611), "")
            credit_rows[vat_key] = credit_rows.get(vat_key, Decimal(0)) + vat
    rows = [{"Account": RECEIVABLES_ACCOUNT, "Debit": found["Total"], "Credit": Decimal(0)}]
    rows += [
        {"Account": account, "Debit": Decimal(0), "Credit": amount, "CostCenter": cost_center}
        for (account, cost_center), amount in credit_rows.items()
    ]
    voucher = create_voucher(
        tenant,
        year,
        series_code=INVOICE_SERIES,
        day=day,
        description=f"Kundfaktura {number} {found['CustomerName']}",
        rows=rows,
        manual=False,
        reference=("INVOICE", str(number)),
    )
    found.update(Booked=True, VoucherSeries=voucher.series, VoucherNumber=voucher.number, VoucherYear=year.id)
    return answer({"Invoice": invoice_json(found)})


def _invoice(tenant: Tenant, number: int) -> dict[str, Any]:
    found = tenant.invoices.get(number)
    if found is None:
        raise not_found(errors.INVOICE_NOT_FOUND, "Kan inte hitta fakturan.")
    return found


def _document_matches(document: dict[str, Any], date_field: str) -> bool:
    day = date.fromisoformat(document[date_field])
    if "fromdate" in request.args and day < parse_date(request.args["fromdate"], "fromdate"):
        return False
    if "todate" in request.args and day > parse_date(request.args["todate"], "todate"):
        return False
    return all(
        like(document.get(field), request.args[param])
        for param, field in (
            ("customernumber", "CustomerNumber"),
            ("documentnumber", "DocumentNumber"),
            ("externalinvoicereference1", "ExternalInvoiceReference1"),
            ("yourreference", "YourReference"),
        )
        if param in request.args
    )


# -- orders ----------------------------------------------------------------------------------------------

ORDER_LIST_FIELDS = (
    "Cancelled", "Currency", "CustomerName", "CustomerNumber", "DeliveryDate", "DocumentNumber",
    "ExternalInvoiceReference1", "ExternalInvoiceReference2", "OrderDate", "Project", "Sent", "Total",
)  # fmt: skip


def order_json(order: dict[str, Any]) -> dict[str, Any]:
    return {"@url": url(f"orders/{order['DocumentNumber']}"), **order}


@bp.post("/orders")
@endpoint("order")
def create_order(tenant: Tenant) -> Response:
    fields = read_body("Order", "Order")
    number = max(tenant.orders, default=0) + 1
    order = _document(tenant, fields, number, "OrderDate")
    rows = _rows(tenant, fields.get("OrderRows", []), "OrderedQuantity")
    for row in rows:
        row.setdefault("DeliveredQuantity", row["OrderedQuantity"])
    order.update(
        OrderRows=rows, OrderType="Order", InvoiceReference="0", DeliveryState="delivery", **_totals(rows)
    )
    tenant.orders[number] = order
    return answer({"Order": order_json(order)}, 201, "orders")


@bp.get("/orders")
@endpoint("order")
def orders(tenant: Tenant) -> Response:
    wanted = check_filter("orders")
    found = []
    for number, order in sorted(tenant.orders.items()):
        invoiced = order["InvoiceReference"] != "0"
        if wanted in ("invoicecreated", "invoicenotcreated") and invoiced != (wanted == "invoicecreated"):
            continue
        if _document_matches(order, "OrderDate"):
            found.append({"@url": url(f"orders/{number}"), **{f: order.get(f) for f in ORDER_LIST_FIELDS}})
    return paginate(found, "Orders")


@bp.get("/orders/<int:number>")
@endpoint("order")
def order(tenant: Tenant, number: int) -> Response:
    return answer({"Order": order_json(_order(tenant, number))})


@bp.put("/orders/<int:number>/createinvoice")
@endpoint("order")
def create_invoice_from_order(tenant: Tenant, number: int) -> Response:
    found = _order(tenant, number)
    if found["InvoiceReference"] != "0":
        raise invalid(errors.ORDER_ALREADY_INVOICED, f"Order {number} är redan fakturerad")
    fields = {
        key: found[key]
        for key in ("CustomerNumber", "CostCenter", "Project", "YourReference", "OurReference", "Remarks")
        if found.get(key)
    }
    keep = ("AccountNumber", "ArticleNumber", "CostCenter", "DeliveredQuantity", "Description", "Price", "Project",
            "Unit", "VAT")  # fmt: skip
    fields["InvoiceRows"] = [{key: row[key] for key in keep if key in row} for row in found["OrderRows"]]
    created = new_invoice(tenant, fields)
    created["OrderReference"] = str(number)
    found["InvoiceReference"] = created["DocumentNumber"]
    return answer({"Invoice": invoice_json(created)})


def _order(tenant: Tenant, number: int) -> dict[str, Any]:
    found = tenant.orders.get(number)
    if found is None:
        raise not_found(errors.ORDER_NOT_FOUND, "Kan inte hitta ordern.")
    return found
