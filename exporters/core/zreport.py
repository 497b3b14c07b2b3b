"""The Z-report ("Z-dagrapport"): what a Swedish cash register must print when it closes the day
(SKVFS 2014:9 7 kap. 3 §), extended with what bookkeeping needs. DESIGN.md section 2 is the contract.

:func:`parse_z_report` turns the JSON form (amounts as decimal strings) into a :class:`ZReport` and checks
every invariant, collecting all problems of one report into a single :class:`ZReportInvalid`, each naming
the field and the amounts. A report that lacks an item Skatteverket requires is still accepted for
bookkeeping; :meth:`ZReport.missing_required_items` lists what is missing so it can be flagged.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from exporters.core.errors import Problem, ZReportInvalid
from exporters.core.money import ZERO, MoneyFormatError, money_str, parse_money, round_ore

SCHEMA_VERSION = 1
#: Swedish VAT rates in percent. Which goods carry which rate changes over time (food 12 -> 6 from
#: 2026-04-01), so the rate travels on every row and the accounts follow the rate.
VAT_RATES = ("25", "12", "6", "0")
KNOWN_PAYMENT_METHODS = ("cash", "card", "swish", "gift_card", "invoice")
VAT_TOLERANCE = Decimal("0.01")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
_ORG_NUMBER = re.compile(r"^(\d{6})-?(\d{4})$")

#: The items of SKVFS 2014:9 7 kap. 3 § and the field of the report that carries each.
REQUIRED_ITEMS = {
    "company_name": "a. företagets namn",
    "generated_at": "b. datum och klockslag när rapporten togs fram",
    "float": "i. växelkassa",
    "counts.goods_sold": "j. antal sålda varor",
    "counts.services_sold": "k. antal sålda tjänster",
    "counts.receipts": "l. antal kassakvitton",
    "counts.drawer_openings": "m. antal lådöppningar",
    "copies": "n. antal kvittokopior och belopp",
    "training": "o. antal registreringar i övningsläge och belopp",
    "returns_total": "q. antal returer och belopp",
    "discounts_total": "r. rabatter",
    "other_reductions": "s. övriga registreringar som minskat försäljningen",
    "unfinished_sales": "t. antal oavslutade försäljningar och belopp",
    "grand_totals": "u-w. grand total försäljning, retur och netto",
}
COUNT_AMOUNT_FIELDS = (
    "returns_total",
    "discounts_total",
    "other_reductions",
    "unfinished_sales",
    "copies",
    "training",
    "proforma",
)
COUNT_FIELDS = ("receipts", "drawer_openings", "goods_sold", "services_sold")


def check_digit(digits: str) -> int:
    """The Luhn check digit of nine digits, as Swedish organisation numbers end with."""
    total = 0
    for index, digit in enumerate(int(c) for c in digits):
        doubled = digit * (2 - index % 2)
        total += doubled // 10 + doubled % 10
    return (10 - total % 10) % 10


def org_number_is_valid(org_number: str) -> bool:
    """A Swedish organisation number (NNNNNN-NNNN) whose last digit is its Luhn check digit."""
    match = _ORG_NUMBER.match(org_number)
    if not match:
        return False
    digits = match.group(1) + match.group(2)
    return check_digit(digits[:9]) == int(digits[9])


def vat_of(net: Decimal, vat_rate: str) -> Decimal:
    """The VAT on ``net`` at ``vat_rate`` percent, rounded to whole öre."""
    return round_ore(net * Decimal(vat_rate) / 100)


@dataclass(frozen=True)
class Register:
    id: str
    control_unit_id: str


@dataclass(frozen=True)
class SalesRow:
    """Sales (or returns, with positive amounts) of one product group at one VAT rate."""

    product_group: str
    vat_rate: str
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True)
class Payment:
    """An amount taken through a payment method (also used for tips)."""

    method: str
    amount: Decimal


@dataclass(frozen=True)
class CashCount:
    expected: Decimal
    counted: Decimal

    @property
    def difference(self) -> Decimal:
        """Counted minus expected: negative is a shortage ("kassabrist"), positive a surplus."""
        return self.counted - self.expected


@dataclass(frozen=True)
class CountAmount:
    count: int
    amount: Decimal


@dataclass(frozen=True)
class GrandTotals:
    sales: Decimal
    returns: Decimal
    net: Decimal


@dataclass(frozen=True)
class Customer:
    name: str
    number: str | None = None
    org_number: str | None = None


@dataclass(frozen=True)
class InvoiceLine:
    product_group: str
    vat_rate: str
    net: Decimal
    vat: Decimal
    description: str = ""
    quantity: Decimal = Decimal("1")

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True)
class InvoiceSale:
    """A sale paid "on invoice": the register took no money, the customer gets an invoice."""

    receipt_number: str
    customer: Customer
    lines: tuple[InvoiceLine, ...]
    tip: Decimal = ZERO

    @property
    def gross(self) -> Decimal:
        return sum((line.gross for line in self.lines), ZERO)


@dataclass(frozen=True)
class ZReport:
    register: Register
    org_number: str
    z_number: int
    business_date: date
    opened_at: datetime
    closed_at: datetime
    currency: str
    sales: tuple[SalesRow, ...]
    returns: tuple[SalesRow, ...]
    payments: tuple[Payment, ...]
    tips: tuple[Payment, ...] = ()
    rounding: Decimal = ZERO
    cash_count: CashCount | None = None
    company_name: str | None = None
    generated_at: datetime | None = None
    float_amount: Decimal | None = None
    counts: dict[str, int] = field(default_factory=dict)
    control_figures: dict[str, CountAmount] = field(default_factory=dict)
    grand_totals: GrandTotals | None = None
    invoice_sales: tuple[InvoiceSale, ...] = ()

    @property
    def gross_sales(self) -> Decimal:
        return sum((row.gross for row in self.sales), ZERO)

    @property
    def gross_returns(self) -> Decimal:
        return sum((row.gross for row in self.returns), ZERO)

    @property
    def total_payments(self) -> Decimal:
        return sum((payment.amount for payment in self.payments), ZERO)

    @property
    def total_tips(self) -> Decimal:
        return sum((tip.amount for tip in self.tips), ZERO)

    def payments_by_method(self) -> dict[str, Decimal]:
        return _sum_by_method(self.payments)

    def tips_by_method(self) -> dict[str, Decimal]:
        return _sum_by_method(self.tips)

    @property
    def key(self) -> str:
        """``register:z_number``, unique per store."""
        return f"{self.register.id}:{self.z_number}"

    def missing_required_items(self) -> list[str]:
        """The Skatteverket items (7 kap. 3 §) this report does not carry; empty when complete."""
        present = {
            "company_name": bool(self.company_name),
            "generated_at": self.generated_at is not None,
            "float": self.float_amount is not None,
            "grand_totals": self.grand_totals is not None,
        }
        present.update({f"counts.{name}": name in self.counts for name in COUNT_FIELDS})
        present.update({name: name in self.control_figures for name in COUNT_AMOUNT_FIELDS})
        return [f"{key} ({label})" for key, label in REQUIRED_ITEMS.items() if not present[key]]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema version 1), the inverse of :func:`parse_z_report`."""
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "register": {"id": self.register.id, "control_unit_id": self.register.control_unit_id},
            "org_number": self.org_number,
            "z_number": self.z_number,
            "business_date": self.business_date.isoformat(),
            "opened_at": self.opened_at.isoformat(),
            "closed_at": self.closed_at.isoformat(),
            "currency": self.currency,
            "sales": [_row_dict(row) for row in self.sales],
            "returns": [_row_dict(row) for row in self.returns],
            "payments": [_payment_dict(p) for p in self.payments],
            "tips": [_payment_dict(p) for p in self.tips],
            "rounding": money_str(self.rounding),
        }
        if self.cash_count is not None:
            data["cash_count"] = {
                "expected": money_str(self.cash_count.expected),
                "counted": money_str(self.cash_count.counted),
            }
        if self.company_name is not None:
            data["company_name"] = self.company_name
        if self.generated_at is not None:
            data["generated_at"] = self.generated_at.isoformat()
        if self.float_amount is not None:
            data["float"] = money_str(self.float_amount)
        if self.counts:
            data["counts"] = dict(self.counts)
        for name, figure in self.control_figures.items():
            data[name] = {"count": figure.count, "amount": money_str(figure.amount)}
        if self.grand_totals is not None:
            data["grand_totals"] = {
                "sales": money_str(self.grand_totals.sales),
                "returns": money_str(self.grand_totals.returns),
                "net": money_str(self.grand_totals.net),
            }
        if self.invoice_sales:
            data["invoice_sales"] = [_invoice_sale_dict(sale) for sale in self.invoice_sales]
        return data

    def content_hash(self) -> str:
        """A digest of the canonical JSON form: equal for the same report however it was spelled."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _sum_by_method(entries: Iterable[Payment]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        totals[entry.method] += entry.amount
    return dict(totals)


def _row_dict(row: SalesRow) -> dict[str, str]:
    return {
        "product_group": row.product_group,
        "vat_rate": row.vat_rate,
        "net": money_str(row.net),
        "vat": money_str(row.vat),
    }


def _payment_dict(payment: Payment) -> dict[str, str]:
    return {"method": payment.method, "amount": money_str(payment.amount)}


def _invoice_sale_dict(sale: InvoiceSale) -> dict[str, Any]:
    customer = {"name": sale.customer.name}
    if sale.customer.number:
        customer["number"] = sale.customer.number
    if sale.customer.org_number:
        customer["org_number"] = sale.customer.org_number
    return {
        "receipt_number": sale.receipt_number,
        "customer": customer,
        "lines": [
            {
                **_row_dict(line),  # type: ignore[arg-type]
                "description": line.description,
                "quantity": str(line.quantity),
            }
            for line in sale.lines
        ],
        "tip": money_str(sale.tip),
    }


class _Reader:
    """Walks the JSON form, collecting a :class:`Problem` for everything wrong instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(path, message, fix))

    def get(self, obj: dict[str, Any], name: str, path: str, kind: type, required: bool = True) -> Any:
        if name not in obj or obj[name] is None:
            if required:
                self.fail(path, "is missing", f"add {name} to the Z-report")
            return None
        value = obj[name]
        if kind is int and isinstance(value, bool):
            value = None
        if not isinstance(value, kind):
            self.fail(path, f"must be {_kind_name(kind)}, got {value!r}")
            return None
        return value

    def text(self, obj: dict[str, Any], name: str, path: str, required: bool = True) -> str | None:
        value = self.get(obj, name, path, str, required)
        if value is not None and not value.strip():
            self.fail(path, "is empty")
            return None
        return value

    def money(
        self, obj: dict[str, Any], name: str, path: str, required: bool = True, signed: bool = False
    ) -> Decimal | None:
        if name not in obj or obj[name] is None:
            if required:
                self.fail(path, "is missing", f'add {name} as a decimal string like "0.00"')
            return None
        try:
            amount = parse_money(obj[name])
        except MoneyFormatError as exc:
            self.fail(path, str(exc))
            return None
        if not signed and amount < 0:
            self.fail(
                path,
                f"is negative ({amount})",
                "amounts are positive; returns go in returns, only rounding may be negative",
            )
            return None
        return amount

    def count(self, obj: dict[str, Any], name: str, path: str) -> int | None:
        value = self.get(obj, name, path, int)
        if value is not None and value < 0:
            self.fail(path, f"is negative ({value})", "counts are whole numbers from 0")
            return None
        return value

    def timestamp(self, obj: dict[str, Any], name: str, path: str, required: bool = True):
        value = self.text(obj, name, path, required)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.fail(path, f"{value!r} is not an ISO 8601 time", 'write e.g. "2026-11-20T22:05:00+01:00"')
            return None
        if parsed.tzinfo is None:
            self.fail(path, f"{value!r} has no UTC offset", 'add the offset, e.g. "+01:00"')
            return None
        return parsed

    def items(self, obj: dict[str, Any], name: str, path: str, required: bool = True) -> list[Any]:
        value = self.get(obj, name, path, list, required)
        return value or []

    def table(self, obj: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(obj, dict):
            self.fail(path, f"must be an object, got {obj!r}")
            return None
        return obj


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "a whole number", list: "a list", dict: "an object"}.get(
        kind, kind.__name__
    )


def _parse_vat_rate(reader: _Reader, obj: dict[str, Any], path: str) -> str | None:
    raw = reader.get(obj, "vat_rate", path, str)
    if raw is None:
        return None
    try:
        normalized = format(Decimal(raw).normalize(), "f")
    except ArithmeticError:
        normalized = raw
    if normalized not in VAT_RATES:
        reader.fail(path, f"{raw!r} is not a Swedish VAT rate", f"use one of {', '.join(VAT_RATES)}")
        return None
    return normalized


def _parse_sales_row(reader: _Reader, obj: Any, path: str) -> SalesRow | None:
    obj = reader.table(obj, path)
    if obj is None:
        return None
    group = reader.text(obj, "product_group", f"{path}.product_group")
    rate = _parse_vat_rate(reader, obj, f"{path}.vat_rate")
    net = reader.money(obj, "net", f"{path}.net")
    vat = reader.money(obj, "vat", f"{path}.vat")
    if None in (group, rate, net, vat):
        return None
    _check_vat(reader, path, rate, net, vat)
    return SalesRow(group, rate, net, vat)


def _check_vat(reader: _Reader, path: str, rate: str, net: Decimal, vat: Decimal) -> None:
    expected = vat_of(net, rate)
    if abs(vat - expected) > VAT_TOLERANCE:
        reader.fail(
            f"{path}.vat",
            f"{vat} is not {rate} % of net {net} (expected {expected}, within 0.01)",
            "the register must send the VAT of each row as rounded net × rate",
        )


def _parse_payment(reader: _Reader, obj: Any, path: str) -> Payment | None:
    obj = reader.table(obj, path)
    if obj is None:
        return None
    method = reader.text(obj, "method", f"{path}.method")
    amount = reader.money(obj, "amount", f"{path}.amount")
    if method is not None and not _KEY.match(method):
        reader.fail(
            f"{path}.method",
            f"{method!r} is not a payment method key",
            "use lower-case letters, digits, _ and -, e.g. cash, card, swish, gift_card, invoice",
        )
        return None
    if method is None or amount is None:
        return None
    return Payment(method, amount)


def _parse_invoice_sale(reader: _Reader, obj: Any, path: str) -> InvoiceSale | None:
    obj = reader.table(obj, path)
    if obj is None:
        return None
    receipt = reader.text(obj, "receipt_number", f"{path}.receipt_number")
    customer_obj = reader.get(obj, "customer", f"{path}.customer", dict)
    customer = None
    if customer_obj is not None:
        name = reader.text(customer_obj, "name", f"{path}.customer.name")
        number = reader.text(customer_obj, "number", f"{path}.customer.number", required=False)
        org = reader.text(customer_obj, "org_number", f"{path}.customer.org_number", required=False)
        if org is not None and not org_number_is_valid(org):
            reader.fail(f"{path}.customer.org_number", f"{org!r} is not a valid organisation number")
        if name is not None:
            customer = Customer(name, number, org)
    lines = []
    raw_lines = reader.items(obj, "lines", f"{path}.lines")
    if not raw_lines and "lines" in obj:
        reader.fail(f"{path}.lines", "is empty", "an invoice sale needs at least one line")
    for index, raw in enumerate(raw_lines):
        line_path = f"{path}.lines[{index}]"
        row = _parse_sales_row(reader, raw, line_path)
        if row is None:
            continue
        description = raw.get("description") or row.product_group
        quantity = Decimal("1")
        if "quantity" in raw:
            try:
                quantity = Decimal(str(raw["quantity"]))
                if not quantity.is_finite() or quantity <= 0:
                    raise ArithmeticError
            except ArithmeticError:
                reader.fail(f"{line_path}.quantity", f"{raw['quantity']!r} is not a positive number")
                continue
        lines.append(
            InvoiceLine(row.product_group, row.vat_rate, row.net, row.vat, str(description), quantity)
        )
    tip = reader.money(obj, "tip", f"{path}.tip", required=False)
    if receipt is None or customer is None or len(lines) != len(raw_lines):
        return None
    return InvoiceSale(receipt, customer, tuple(lines), tip or ZERO)


def parse_z_report(data: Any) -> ZReport:
    """Parse and validate the JSON form of a Z-report; raise :class:`ZReportInvalid` listing every problem.

    Checked: types and required fields; org number (with its check digit); z_number from 1; times with
    their UTC offset, opened before closed; SEK only; known VAT rates; VAT of each row within 1 öre of
    net × rate; no negative amounts but rounding and cash difference; payments equal to gross sales minus
    gross returns plus tips plus rounding; tips taken through a method that was paid with; and the
    invoice sales agree with the payments on invoice, the invoice tips and the day's sales.
    """
    reader = _Reader()
    root = reader.table(data, "z_report")
    if root is None:
        raise ZReportInvalid(reader.problems)
    version = root.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        reader.fail("schema_version", f"{version!r} is not supported", f"send {SCHEMA_VERSION}")

    register = None
    register_obj = reader.get(root, "register", "register", dict)
    if register_obj is not None:
        register_id = reader.text(register_obj, "id", "register.id")
        unit = reader.text(register_obj, "control_unit_id", "register.control_unit_id")
        if register_id is not None and unit is not None:
            register = Register(register_id, unit)

    org_number = reader.text(root, "org_number", "org_number")
    if org_number is not None and not org_number_is_valid(org_number):
        reader.fail(
            "org_number",
            f"{org_number!r} is not a valid Swedish organisation number",
            "write NNNNNN-NNNN with its check digit, as on the registration certificate",
        )
    z_number = reader.get(root, "z_number", "z_number", int)
    if z_number is not None and z_number < 1:
        reader.fail("z_number", f"{z_number} is not a Z number", "Z numbers start at 1")
    business_date = None
    date_text = reader.text(root, "business_date", "business_date")
    if date_text is not None:
        try:
            business_date = date.fromisoformat(date_text)
        except ValueError:
            reader.fail("business_date", f"{date_text!r} is not a date", 'write e.g. "2026-11-20"')
    opened_at = reader.timestamp(root, "opened_at", "opened_at")
    closed_at = reader.timestamp(root, "closed_at", "closed_at")
    if opened_at and closed_at and closed_at < opened_at:
        reader.fail("closed_at", f"{closed_at.isoformat()} is before opened_at {opened_at.isoformat()}")
    currency = reader.text(root, "currency", "currency")
    if currency is not None and currency != "SEK":
        reader.fail("currency", f"{currency!r} is not supported", "the register must report in SEK")

    sales = [
        _parse_sales_row(reader, raw, f"sales[{i}]")
        for i, raw in enumerate(reader.items(root, "sales", "sales"))
    ]
    returns = [
        _parse_sales_row(reader, raw, f"returns[{i}]")
        for i, raw in enumerate(reader.items(root, "returns", "returns", required=False))
    ]
    payments = [
        _parse_payment(reader, raw, f"payments[{i}]")
        for i, raw in enumerate(reader.items(root, "payments", "payments"))
    ]
    tips = [
        _parse_payment(reader, raw, f"tips[{i}]")
        for i, raw in enumerate(reader.items(root, "tips", "tips", required=False))
    ]
    rounding = reader.money(root, "rounding", "rounding", required=False, signed=True)

    cash_count = None
    cash_obj = reader.get(root, "cash_count", "cash_count", dict, required=False)
    if cash_obj is not None:
        expected = reader.money(cash_obj, "expected", "cash_count.expected")
        counted = reader.money(cash_obj, "counted", "cash_count.counted")
        if expected is not None and counted is not None:
            cash_count = CashCount(expected, counted)

    company_name = reader.text(root, "company_name", "company_name", required=False)
    generated_at = reader.timestamp(root, "generated_at", "generated_at", required=False)
    float_amount = reader.money(root, "float", "float", required=False)
    counts: dict[str, int] = {}
    counts_obj = reader.get(root, "counts", "counts", dict, required=False)
    if counts_obj is not None:
        for name in COUNT_FIELDS:
            if name in counts_obj:
                value = reader.count(counts_obj, name, f"counts.{name}")
                if value is not None:
                    counts[name] = value
    control_figures: dict[str, CountAmount] = {}
    for name in COUNT_AMOUNT_FIELDS:
        figure = reader.get(root, name, name, dict, required=False)
        if figure is not None:
            count = reader.count(figure, "count", f"{name}.count")
            amount = reader.money(figure, "amount", f"{name}.amount")
            if count is not None and amount is not None:
                control_figures[name] = CountAmount(count, amount)
    grand_totals = None
    totals_obj = reader.get(root, "grand_totals", "grand_totals", dict, required=False)
    if totals_obj is not None:
        gt = [reader.money(totals_obj, n, f"grand_totals.{n}") for n in ("sales", "returns", "net")]
        if None not in gt:
            grand_totals = GrandTotals(*gt)
    invoice_sales = [
        _parse_invoice_sale(reader, raw, f"invoice_sales[{i}]")
        for i, raw in enumerate(reader.items(root, "invoice_sales", "invoice_sales", required=False))
    ]

    parsed_ok = not reader.problems
    if parsed_ok:
        report = ZReport(
            register=register,
            org_number=org_number,
            z_number=z_number,
            business_date=business_date,
            opened_at=opened_at,
            closed_at=closed_at,
            currency=currency,
            sales=tuple(sales),
            returns=tuple(returns),
            payments=tuple(payments),
            tips=tuple(tips),
            rounding=rounding if rounding is not None else ZERO,
            cash_count=cash_count,
            company_name=company_name,
            generated_at=generated_at,
            float_amount=float_amount,
            counts=counts,
            control_figures=control_figures,
            grand_totals=grand_totals,
            invoice_sales=tuple(invoice_sales),
        )
        _check_totals(reader, report)
        if not reader.problems:
            return report
    raise ZReportInvalid(reader.problems)


def _check_totals(reader: _Reader, report: ZReport) -> None:
    """The invariants across fields; each problem names the amounts it compared."""
    expected = report.gross_sales - report.gross_returns + report.total_tips + report.rounding
    paid = report.total_payments
    if paid != expected:
        reader.fail(
            "payments",
            f"sum {paid} does not equal sales {report.gross_sales} - returns {report.gross_returns}"
            f" + tips {report.total_tips} + rounding {report.rounding} = {expected}"
            f" (difference {paid - expected})",
            "the register's payments must account for every sale; check for a missing payment method",
        )
    paid_by_method = report.payments_by_method()
    for method, tip in report.tips_by_method().items():
        if tip > paid_by_method.get(method, ZERO):
            reader.fail(
                "tips",
                f"tips of {tip} through {method!r} exceed what was paid by {method!r}"
                f" ({paid_by_method.get(method, ZERO)})",
                "tips are part of the payment they came with",
            )
    if not report.invoice_sales:
        return
    on_invoice = paid_by_method.get("invoice", ZERO)
    invoiced = sum((sale.gross + sale.tip for sale in report.invoice_sales), ZERO)
    if invoiced != on_invoice:
        reader.fail(
            "invoice_sales",
            f"invoice sales add up to {invoiced} (lines plus tips) but payments by 'invoice' are {on_invoice}",
            "every sale on invoice must be in invoice_sales, and nothing else",
        )
    invoice_tips = sum((sale.tip for sale in report.invoice_sales), ZERO)
    tipped = report.tips_by_method().get("invoice", ZERO)
    if invoice_tips != tipped:
        reader.fail(
            "invoice_sales",
            f"tips on invoice sales add up to {invoice_tips} but tips by 'invoice' are {tipped}",
            "report each invoice tip both on its invoice sale and in tips",
        )
    sold: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for row in report.sales:
        sold[row.product_group, row.vat_rate] += row.net
    lined: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for sale in report.invoice_sales:
        for line in sale.lines:
            lined[line.product_group, line.vat_rate] += line.net
    for (group, rate), net in sorted(lined.items()):
        if net > sold[group, rate]:
            reader.fail(
                "invoice_sales",
                f"invoiced net {net} of {group!r} at {rate} % exceeds the day's sales of it"
                f" ({sold[group, rate]})",
                "sales on invoice are part of the day's sales and must be in sales too",
            )
