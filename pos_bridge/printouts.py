"""The printouts of a print-only register, as ESC/POS made by python-escpos: the sales receipt and the
Z-dagrapport in the layout the built-in print template (``templates/z_dagrapport.json``) reads.
``dagskassa register-sim --print`` sends them, and the print-stream adapter's tests read them back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from escpos.printer import Dummy

from pos_bridge.register_sim import STOCKHOLM, Shop


def render_z_dagrapport(z_report: dict[str, Any]) -> bytes:
    """The Z-dagrapport printout (ESC/POS, by python-escpos) of a section-2 Z-report, in the layout the
    built-in print template reads: what a print-only register would send to its printer."""

    def kr(amount: str) -> str:
        whole, _, cents = amount.lstrip("-").partition(".")
        groups = []
        while whole:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        return ("-" if amount.startswith("-") else "") + " ".join(groups) + "," + cents

    def local(moment: str) -> str:
        return datetime.fromisoformat(moment).astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S")

    def line(label: str, value: str) -> str:
        return f"{label}{value.rjust(max(42 - len(label), len(value) + 2))}"

    printer = Dummy()
    printer.hw("INIT")
    printer.set(align="center", bold=True)
    printer.textln(z_report["company_name"])
    printer.set_with_default(align="center")
    printer.textln(f"Org.nr {z_report['org_number']}")
    printer.set(double_height=True, bold=True)
    printer.textln("Z-DAGRAPPORT")
    printer.set_with_default()
    printer.textln(line("Z-nummer", str(z_report["z_number"])))
    printer.textln(line("Kassa", z_report["register"]["id"]))
    printer.textln(line("Kontrollenhet", z_report["register"]["control_unit_id"]))
    printer.textln(line("Datum", z_report["business_date"]))
    for label, name in (("Öppnad", "opened_at"), ("Stängd", "closed_at"), ("Utskriven", "generated_at")):
        printer.textln(line(label, local(z_report[name])))
    for title, name in (("FÖRSÄLJNING PER VARUGRUPP", "sales"), ("RETURER", "returns")):
        printer.textln("-" * 42)
        printer.set(bold=True)
        printer.textln(title)
        printer.set(bold=False)
        for row in z_report[name]:
            label = f"{row['product_group']} {row['vat_rate']}%"
            printer.textln(f"{label:<20}{kr(row['net']):>12}{kr(row['vat']):>10}")
    names = {
        "cash": "Kontant",
        "card": "Kort",
        "swish": "Swish",
        "gift_card": "Presentkort",
        "invoice": "Faktura",
    }
    for title, name in (("BETALNINGAR", "payments"), ("DRICKS", "tips")):
        printer.textln("-" * 42)
        printer.set(bold=True)
        printer.textln(title)
        printer.set(bold=False)
        for row in z_report[name]:
            printer.textln(line(names.get(row["method"], row["method"]), kr(row["amount"])))
    printer.textln("-" * 42)
    printer.textln(line("Öresavrundning", kr(z_report["rounding"])))
    printer.textln(line("Växelkassa", kr(z_report["float"])))
    printer.textln(line("Kassa förväntat", kr(z_report["cash_count"]["expected"])))
    printer.textln(line("Kassa räknat", kr(z_report["cash_count"]["counted"])))
    counts = z_report["counts"]
    for label, name in (
        ("Antal kvitton", "receipts"),
        ("Antal lådöppningar", "drawer_openings"),
        ("Antal sålda varor", "goods_sold"),
        ("Antal sålda tjänster", "services_sold"),
    ):
        printer.textln(line(label, str(counts[name])))
    for label, name in (
        ("Returer", "returns_total"),
        ("Rabatter", "discounts_total"),
        ("Övriga reduktioner", "other_reductions"),
        ("Oavslutade köp", "unfinished_sales"),
        ("Kvittokopior", "copies"),
        ("Övningskvitton", "training"),
        ("Proformakvitton", "proforma"),
    ):
        figure = z_report[name]
        printer.textln(f"{label:<22}{figure['count']:>6}{kr(figure['amount']):>14}")
    totals = z_report["grand_totals"]
    for label, name in (("GT försäljning", "sales"), ("GT retur", "returns"), ("GT netto", "net")):
        printer.textln(line(label, kr(totals[name])))
    printer.cut()
    return printer.output


def render_receipt(shop: Shop, receipt: dict[str, Any]) -> bytes:
    """A sales receipt printout (ESC/POS) of a ``receipt`` message."""
    printer = Dummy()
    printer.set(align="center", bold=True)
    printer.textln(shop.company_name)
    printer.set_with_default()
    printer.textln(f"Kvitto {receipt['receipt_number']}  {receipt['time'][:16].replace('T', ' ')}")
    for line in receipt["lines"]:
        amount = f"{line['amount'] / 100:.2f}".replace(".", ",")
        printer.textln(f"{line['description']:<30}{amount:>12}")
    total = f"{receipt['total'] / 100:.2f}".replace(".", ",")
    printer.set(bold=True)
    printer.textln(f"{'TOTALT':<30}{total:>12}")
    printer.set_with_default()
    printer.textln(f"Kontrollkod {receipt['control_code']}")
    printer.cut(mode="PART")
    return printer.output
