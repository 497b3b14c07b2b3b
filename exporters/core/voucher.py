"""From a Z-report to one balanced voucher (DESIGN.md section 3).

The voucher debits what came in (each payment method's account) and credits what it came for: revenue
per product group and VAT rate net of returns, output VAT per rate, tips owed to staff. Rounding
("öresavrundning": rounding each cash sale to whole kronor) and the cash difference from the cash count
balance the rest. Rows are aggregated per account and dimension within each part, so a payment row still
reads as the payments and a revenue row as the sales.

With invoicing through the accounting system on, sales paid "on invoice" become invoices there; they are
left out of the voucher on both sides (the invoice books them).

The description carries an origin marker, ``[dk:…]``, the same for every attempt to post the same
Z-report: the accounting systems have no idempotency key, so a voucher is found again by its marker.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from exporters.core.errors import CannotBuildVoucher, Problem, VoucherUnbalanced
from exporters.core.mapping import MANDATORY, NOTALLOWED, AccountMapping
from exporters.core.money import ZERO, format_sek, money_str
from exporters.core.zreport import KNOWN_PAYMENT_METHODS, ZReport

DESCRIPTION_MAX = 200
ROW_TEXT_MAX = 100

PAYMENT_TEXTS = {
    "cash": "Kontant",
    "card": "Kort",
    "swish": "Swish",
    "gift_card": "Presentkort inlösta",
    "invoice": "Faktura",
}

#: Parts of a voucher, in the order their rows are listed.
PAYMENT, CASH_DIFFERENCE, REVENUE, VAT, TIPS, ROUNDING = (
    "payment",
    "cash_difference",
    "revenue",
    "vat",
    "tips",
    "rounding",
)
_PART_ORDER = (PAYMENT, CASH_DIFFERENCE, REVENUE, VAT, TIPS, ROUNDING)


@dataclass(frozen=True)
class VoucherRow:
    account: int
    debit: Decimal
    credit: Decimal
    text: str = ""
    cost_center: str | None = None
    project: str | None = None
    part: str = ""

    @property
    def amount(self) -> Decimal:
        """Signed: positive is a debit."""
        return self.debit - self.credit

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "debit": money_str(self.debit),
            "credit": money_str(self.credit),
            "cost_center": self.cost_center,
            "project": self.project,
            "text": self.text,
            "part": self.part,
        }


@dataclass(frozen=True)
class Voucher:
    transaction_date: date
    description: str
    marker: str
    rows: tuple[VoucherRow, ...]
    series: str | None = None

    @property
    def total_debit(self) -> Decimal:
        return sum((row.debit for row in self.rows), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((row.credit for row in self.rows), ZERO)

    @property
    def is_empty(self) -> bool:
        """A day with nothing to book (no sales, no payments): no voucher is posted for it."""
        return not self.rows

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Voucher:
        """The inverse of :meth:`to_dict` (a voucher kept as JSON, e.g. to reverse it later)."""
        return cls(
            transaction_date=date.fromisoformat(data["transaction_date"]),
            description=data["description"],
            marker=data["marker"],
            series=data.get("series"),
            rows=tuple(
                VoucherRow(
                    account=int(row["account"]),
                    debit=Decimal(row["debit"]),
                    credit=Decimal(row["credit"]),
                    text=row.get("text", ""),
                    cost_center=row.get("cost_center"),
                    project=row.get("project"),
                    part=row.get("part", ""),
                )
                for row in data["rows"]
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "transaction_date": self.transaction_date.isoformat(),
            "series": self.series,
            "marker": self.marker,
            "rows": [row.to_dict() for row in self.rows],
        }


@dataclass(frozen=True)
class BuildOptions:
    #: Sales paid on invoice become invoices (or orders) in the accounting system, not voucher rows.
    invoicing: bool = False
    voucher_series: str | None = None
    #: 0 for the first voucher of a Z-report; corrections after a mapping change count up.
    revision: int = 0


def origin_marker(z_report: ZReport, revision: int = 0) -> str:
    """``dk:`` and a digest of (org number, register, Z number): stable across every retry and process.

    A correction (revision > 0) gets its own marker, so the first voucher and its replacement are told
    apart; a reversal is marked with the marker of what it reverses and an ``r``.
    """
    source = f"{z_report.org_number}|{z_report.register.id}|{z_report.z_number}"
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]
    return f"dk:{digest}" + (f".{revision}" if revision else "")


def carries_marker(description: str) -> bool:
    """Whether a voucher description carries a Dagskassa origin marker (any Z-report's)."""
    return "[dk:" in description


def describe(z_report: ZReport, marker: str, prefix: str = "Z") -> str:
    """``Z 142 Kassa 1 2026-11-20 [dk:…]``, at most 200 characters; the marker is never cut."""
    tail = f" {z_report.business_date.isoformat()} [{marker}]"
    head = f"{prefix} {z_report.z_number} {z_report.register.id}"
    room = DESCRIPTION_MAX - len(tail)
    if len(head) > room:
        head = head[: room - 1] + "…"
    return head + tail


def _clip(text: str) -> str:
    return text if len(text) <= ROW_TEXT_MAX else text[: ROW_TEXT_MAX - 1] + "…"


def _method_order(method: str) -> tuple[int, str]:
    """The well-known methods in their usual order, then the store's own keys alphabetically."""
    if method in KNOWN_PAYMENT_METHODS:
        return KNOWN_PAYMENT_METHODS.index(method), ""
    return len(KNOWN_PAYMENT_METHODS), method


def _row_order(key: tuple[str, int]) -> tuple[int, int]:
    """Parts in their order; payments as first added (method order), the rest by account."""
    part, account = key
    return _PART_ORDER.index(part), 0 if part in (PAYMENT, CASH_DIFFERENCE) else account


def _payment_text(method: str) -> str:
    return PAYMENT_TEXTS.get(method, method.replace("_", " ").capitalize())


class _Ledger:
    """Signed amounts per (part, account) with the texts that explain them, before dimensions."""

    def __init__(self) -> None:
        self.amounts: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
        self.texts: dict[tuple[str, int], list[str]] = defaultdict(list)

    def add(self, part: str, account: int, amount: Decimal, text: str) -> None:
        key = (part, account)
        self.amounts[key] += amount
        if text not in self.texts[key]:
            self.texts[key].append(text)


def build_voucher(
    z_report: ZReport, mapping: AccountMapping, options: BuildOptions = BuildOptions()
) -> Voucher:
    """Build the day's voucher. Raises :class:`CannotBuildVoucher` listing every unmapped key and every
    missing dimension at once, or :class:`VoucherUnbalanced` if the rows do not balance to the öre."""
    problems: list[Problem] = []
    ledger = _Ledger()

    def unmapped(field: str, key: str, message: str, fix: str) -> None:
        problems.append(Problem(field, message, fix, kind="unmapped", key=key))

    payments = z_report.payments_by_method()
    tips = z_report.tips_by_method()
    sales = [(row.product_group, row.vat_rate, row.net, row.vat) for row in z_report.sales]
    sales += [(row.product_group, row.vat_rate, -row.net, -row.vat) for row in z_report.returns]
    if options.invoicing and payments.get("invoice", ZERO):
        if not z_report.invoice_sales:
            problems.append(
                Problem(
                    "invoice_sales",
                    f"{payments['invoice']} was paid on invoice but the Z-report has no invoice_sales",
                    "the register must send the invoice details, or turn off invoicing in the settings",
                )
            )
        payments.pop("invoice")
        tips.pop("invoice", None)
        for sale in z_report.invoice_sales:
            sales += [(ln.product_group, ln.vat_rate, -ln.net, -ln.vat) for ln in sale.lines]

    for method in sorted(payments, key=_method_order):
        account = mapping.payment_methods.get(method)
        if account is None:
            unmapped(
                f"payment_methods.{method}",
                f"payment_method:{method}",
                f"payment method {method!r} ({payments[method]}) has no account",
                "map it to an account, e.g. 1580 for card-like payments or 1930 for the bank",
            )
            continue
        ledger.add(PAYMENT, account, payments[method], _payment_text(method))

    difference = z_report.cash_count.difference if z_report.cash_count else ZERO
    if difference:
        cash_account = mapping.payment_methods.get("cash")
        if mapping.cash_difference is None:
            unmapped(
                "cash_difference",
                "cash_difference",
                f"the cash count differs by {difference} and no cash difference account is set",
                "choose one, e.g. 3740 for small differences or 6990 / your own kassadifferens account",
            )
        elif cash_account is None:
            unmapped(
                "payment_methods.cash",
                "payment_method:cash",
                "cash has no account",
                "map cash, e.g. 1910",
            )
        else:
            text = "Kassadifferens " + ("överskott" if difference > 0 else "brist")
            ledger.add(CASH_DIFFERENCE, cash_account, difference, text)
            ledger.add(CASH_DIFFERENCE, mapping.cash_difference, -difference, text)

    vat_by_rate: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for group, rate, net, vat in sales:
        vat_by_rate[rate] += vat
        account = mapping.revenue_account(group, rate)
        if account is None:
            if not any(p.key == f"product_group:{group}:{rate}" for p in problems):
                unmapped(
                    f"product_groups.{group}.{rate}",
                    f"product_group:{group}:{rate}",
                    f"product group {group!r} at {rate} % VAT has no revenue account",
                    "map it, e.g. 3001 for 25 %, 3002 for 12 %, 3003 for 6 %, 3004 for VAT-free sales",
                )
            continue
        ledger.add(REVENUE, account, -net, f"Försäljning {group} {rate} %")
    for rate, vat in sorted(vat_by_rate.items(), key=lambda item: -int(item[0])):
        if not vat:
            continue
        account = mapping.output_vat.get(rate)
        if account is None:
            unmapped(
                f"output_vat.{rate}",
                f"output_vat:{rate}",
                f"output VAT at {rate} % ({vat}) has no account",
                "map it, e.g. 2611 for 25 %, 2621 for 12 %, 2631 for 6 %",
            )
            continue
        ledger.add(VAT, account, -vat, f"Utgående moms {rate} %")

    tip_total = sum(tips.values(), ZERO)
    if tip_total:
        if mapping.tips is None:
            unmapped(
                "tips",
                "tips",
                f"tips of {tip_total} have no account",
                "map tips, e.g. 2890 (owed to staff)",
            )
        else:
            methods_text = ", ".join(_payment_text(m) for m in sorted(tips) if tips[m])
            ledger.add(TIPS, mapping.tips, -tip_total, f"Dricks, skuld till personal ({methods_text})")
    if z_report.rounding:
        if mapping.rounding is None:
            unmapped(
                "rounding",
                "rounding",
                f"rounding of {z_report.rounding} has no account",
                "map it, e.g. 3740",
            )
        else:
            ledger.add(ROUNDING, mapping.rounding, -z_report.rounding, "Öresavrundning")

    rows = _rows(ledger, mapping, problems)
    if problems:
        raise CannotBuildVoucher(problems)
    marker = origin_marker(z_report, options.revision)
    voucher = Voucher(
        transaction_date=z_report.business_date,
        description=describe(z_report, marker),
        marker=marker,
        rows=tuple(rows),
        series=options.voucher_series,
    )
    if voucher.total_debit != voucher.total_credit:
        raise VoucherUnbalanced(voucher.total_debit, voucher.total_credit)
    return voucher


def _rows(ledger: _Ledger, mapping: AccountMapping, problems: list[Problem]) -> list[VoucherRow]:
    rows = []
    for part, account in sorted(ledger.amounts, key=_row_order):
        amount = ledger.amounts[part, account]
        if not amount:
            continue
        cost_center = _dimension(
            "cost_center", mapping.cost_center, mapping.cost_center_rule(account), account, problems
        )
        project = _dimension("project", mapping.project, mapping.project_rule(account), account, problems)
        rows.append(
            VoucherRow(
                account=account,
                debit=amount if amount > 0 else ZERO,
                credit=-amount if amount < 0 else ZERO,
                text=_clip(" + ".join(ledger.texts[part, account])),
                cost_center=cost_center,
                project=project,
                part=part,
            )
        )
    return rows


def _dimension(name: str, value: str | None, rule: str, account: int, problems: list[Problem]) -> str | None:
    if rule == NOTALLOWED:
        return None
    if rule == MANDATORY and value is None:
        label = "a cost center" if name == "cost_center" else "a project"
        if not any(p.field == name and str(account) in p.message for p in problems):
            problems.append(
                Problem(
                    name,
                    f"account {account} requires {label} and the store has none",
                    f"set the store's {name.replace('_', ' ')} in the integration settings",
                    kind="unmapped",
                    key=name,
                )
            )
    return value


def reverse_voucher(voucher: Voucher, z_report: ZReport) -> Voucher:
    """The voucher that cancels ``voucher`` (debits and credits swapped), for a correction.

    Vouchers cannot be edited or deleted in Fortnox; a correction is this reversal plus a new voucher.
    """
    marker = f"{voucher.marker}r"
    return replace(
        voucher,
        description=describe(z_report, marker, prefix="Rättelse av Z"),
        marker=marker,
        rows=tuple(replace(row, debit=row.credit, credit=row.debit) for row in voucher.rows),
    )


def voucher_table(voucher: Voucher) -> str:
    """A plain-text table of the voucher, as ``dagskassa voucher preview`` prints it."""
    lines = [voucher.description, f"Datum: {voucher.transaction_date.isoformat()}", ""]
    header = f"{'Konto':>5}  {'Debet':>14}  {'Kredit':>14}  {'KS':<6} {'Projekt':<8} Text"
    lines += [header, "-" * len(header)]
    for row in voucher.rows:
        debit = format_sek(row.debit) if row.debit else ""
        credit = format_sek(row.credit) if row.credit else ""
        lines.append(
            f"{row.account:>5}  {debit:>14}  {credit:>14}  {row.cost_center or '':<6} "
            f"{row.project or '':<8} {row.text}"
        )
    lines.append("-" * len(header))
    lines.append(
        f"{'Summa':>5}  {format_sek(voucher.total_debit):>14}  {format_sek(voucher.total_credit):>14}"
    )
    return "\n".join(lines)
