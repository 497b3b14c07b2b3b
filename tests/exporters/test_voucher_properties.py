"""Property tests of the money rules: any valid Z-report gives a balanced voucher whose revenue and VAT
rows equal gross sales minus returns and whose payment rows equal the payments; any invalid one is
refused with an error naming the field."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from config.bas import bas_default_mapping_data
from exporters.core import (
    BuildOptions,
    ZReportInvalid,
    build_voucher,
    from_ore,
    parse_mapping,
    parse_z_report,
)
from exporters.core.money import money_str
from exporters.core.voucher import PAYMENT, REVENUE, VAT
from exporters.core.zreport import vat_of
from tests.exporters.zreports import minimal_day

MAPPING = parse_mapping(
    {"payment_methods": {"lunch_voucher": 1581}, "cash_difference": 3740, "cost_center": "BUT1"},
    base=bas_default_mapping_data(),
)
GROUPS = ("Mat", "Dryck", "Tidningar", "Presentkort")
RATES = ("25", "12", "6", "0")


def row(group: str, rate: str, net_ore: int) -> dict[str, str]:
    net = from_ore(net_ore)
    return {
        "product_group": group,
        "vat_rate": rate,
        "net": money_str(net),
        "vat": money_str(vat_of(net, rate)),
    }


def gross(rows) -> int:
    return sum(round((Decimal(r["net"]) + Decimal(r["vat"])) * 100) for r in rows)


@st.composite
def valid_days(draw):
    sales = [
        row(draw(st.sampled_from(GROUPS)), draw(st.sampled_from(RATES)), draw(st.integers(0, 10_000_000)))
        for _ in range(draw(st.integers(1, 8)))
    ]
    returns = [
        row(r["product_group"], r["vat_rate"], draw(st.integers(0, int(Decimal(r["net"]) * 100) // 4)))
        for r in draw(st.lists(st.sampled_from(sales), max_size=3))
    ]
    tip = draw(st.integers(0, 50_000))
    rounding = draw(st.integers(-49, 49))
    total = gross(sales) - gross(returns) + tip + rounding
    assume(total >= tip)
    # Split what was paid over the methods; the card share carries the tip.
    methods = draw(
        st.lists(st.sampled_from(["cash", "swish", "gift_card", "lunch_voucher"]), unique=True, max_size=4)
    )
    cuts = sorted(draw(st.lists(st.integers(0, total - tip), min_size=len(methods), max_size=len(methods))))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, total - tip], strict=True)]
    payments = [{"method": "card", "amount": money_str(from_ore(shares[-1] + tip))}]
    payments += [
        {"method": m, "amount": money_str(from_ore(s))} for m, s in zip(methods, shares[:-1], strict=True)
    ]
    data = minimal_day(
        sales=sales,
        returns=returns,
        payments=payments,
        tips=[{"method": "card", "amount": money_str(from_ore(tip))}] if tip else [],
        rounding=money_str(from_ore(rounding)),
    )
    if draw(st.booleans()):
        expected = draw(st.integers(0, 1_000_000))
        data["cash_count"] = {
            "expected": money_str(from_ore(expected)),
            "counted": money_str(from_ore(max(0, expected + draw(st.integers(-5000, 5000))))),
        }
    return data


def part_sum(voucher, *parts) -> Decimal:
    """Credits minus debits of the rows of these parts."""
    return sum((row.credit - row.debit for row in voucher.rows if row.part in parts), Decimal("0.00"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(valid_days())
def test_every_valid_day_balances_and_adds_up(data):
    z = parse_z_report(data)
    voucher = build_voucher(z, MAPPING)
    assert voucher.total_debit == voucher.total_credit
    assert part_sum(voucher, REVENUE, VAT) == z.gross_sales - z.gross_returns
    assert -part_sum(voucher, PAYMENT) == z.total_payments
    for voucher_row in voucher.rows:
        assert voucher_row.debit >= 0 and voucher_row.credit >= 0
        assert (voucher_row.debit == 0) != (voucher_row.credit == 0)
        assert voucher_row.debit == voucher_row.debit.quantize(Decimal("0.01"))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(valid_days(), st.integers(1, 100_000))
def test_invoice_sales_left_out_with_invoicing_on(data, invoice_net_ore):
    # Move part of the first sales row onto an invoice: add it to sales and pay it on invoice.
    line = row(data["sales"][0]["product_group"], data["sales"][0]["vat_rate"], invoice_net_ore)
    data["sales"].append(dict(line))
    invoice_gross = from_ore(gross([line]))
    data["payments"].append({"method": "invoice", "amount": money_str(invoice_gross)})
    data["invoice_sales"] = [{"receipt_number": "F1", "customer": {"name": "Kund AB"}, "lines": [line]}]
    z = parse_z_report(data)
    off = build_voucher(z, MAPPING, BuildOptions(invoicing=False))
    on = build_voucher(z, MAPPING, BuildOptions(invoicing=True))
    assert on.total_debit == on.total_credit
    assert part_sum(off, REVENUE, VAT) - part_sum(on, REVENUE, VAT) == invoice_gross
    assert -part_sum(on, PAYMENT) == z.total_payments - invoice_gross


# Each breakage of a valid day and the field the error must name.
BREAKAGES = {
    "payment off by one öre": (
        lambda d: d["payments"][0].update(
            amount=money_str(Decimal(d["payments"][0]["amount"]) + Decimal("0.01"))
        ),
        "payments",
    ),
    "vat off": (
        lambda d: d["sales"][0].update(vat=money_str(Decimal(d["sales"][0]["vat"]) + Decimal("0.05"))),
        "sales[0].vat",
    ),
    "negative net": (
        lambda d: d["sales"][0].update(net="-" + d["sales"][0]["net"].lstrip("-")),
        "sales[0].net",
    ),
    "unknown rate": (lambda d: d["sales"][0].update(vat_rate="18"), "sales[0].vat_rate"),
    "float amount": (lambda d: d["payments"][0].update(amount=1.5), "payments[0].amount"),
    "missing date": (lambda d: d.pop("business_date"), "business_date"),
    "bad org number": (lambda d: d.update(org_number="123456-7890"), "org_number"),
    "other currency": (lambda d: d.update(currency="NOK"), "currency"),
    "z number zero": (lambda d: d.update(z_number=0), "z_number"),
    "negative count": (lambda d: d.update(counts={"receipts": -1}), "counts.receipts"),
}


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(valid_days(), st.sampled_from(sorted(BREAKAGES)))
def test_every_invalid_day_is_refused_naming_the_field(data, breakage):
    break_it, field = BREAKAGES[breakage]
    if breakage == "negative net":
        assume(Decimal(data["sales"][0]["net"]) > 0)
    break_it(data)
    try:
        parse_z_report(data)
    except ZReportInvalid as exc:
        assert field in {problem.field for problem in exc.problems}, exc
    else:
        raise AssertionError(f"{breakage} was accepted")
