"""The Z-report as a PDF, as the register reported it, for attaching to the day's voucher.

An accountant checking a voucher wants the Z-dagrapport behind it: company, org number, register, Z number,
date and time, sales per product group and VAT rate, payments, returns, counts and grand totals
(SKVFS 2014:9 7 kap. 3 §). :func:`z_report_lines` lays the report out as lines of text;
:func:`render_pdf` writes them with a small PDF 1.4 writer of our own (standard library only): Helvetica
in WinAnsiEncoding so å, ä and ö print, uncompressed content streams so the text can be read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from exporters.core.money import ZERO, format_sek
from exporters.core.zreport import CountAmount, SalesRow, ZReport

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 50
#: Column x positions (points) of a table row's cells after the first.
COLUMNS = (220, 290, 385, 480)

CONTROL_LABELS = {
    "returns_total": "Returer",
    "discounts_total": "Rabatter",
    "other_reductions": "Övriga minskningar",
    "unfinished_sales": "Oavslutade försäljningar",
    "copies": "Kvittokopior",
    "training": "Övningsläge",
    "proforma": "Proformakvitton",
}
COUNT_LABELS = {
    "receipts": "Antal kvitton",
    "drawer_openings": "Antal lådöppningar",
    "goods_sold": "Antal sålda varor",
    "services_sold": "Antal sålda tjänster",
}
METHOD_LABELS = {
    "cash": "Kontant",
    "card": "Kort",
    "swish": "Swish",
    "gift_card": "Presentkort",
    "invoice": "Faktura",
}


@dataclass(frozen=True)
class Line:
    """One line of the report: cells (the first at the margin, the rest at :data:`COLUMNS`)."""

    cells: tuple[str, ...]
    bold: bool = False
    size: float = 10
    space_before: float = 0


def kr(amount: Decimal) -> str:
    return format_sek(amount).replace("\u2212", "-")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %z") if moment else "(saknas)"


def _heading(text: str) -> Line:
    return Line((text,), bold=True, size=11, space_before=8)


def _sales_table(title: str, rows: Sequence[SalesRow]) -> list[Line]:
    lines = [_heading(title), Line(("Varugrupp", "Moms", "Netto", "Moms kr", "Brutto"), bold=True)]
    for row in rows:
        lines.append(Line((row.product_group, f"{row.vat_rate} %", kr(row.net), kr(row.vat), kr(row.gross))))
    net = sum((r.net for r in rows), ZERO)
    vat = sum((r.vat for r in rows), ZERO)
    lines.append(Line(("Summa", "", kr(net), kr(vat), kr(net + vat)), bold=True))
    return lines


def z_report_lines(z: ZReport) -> list[Line]:
    """The report as lines of text, in the order the register prints a Z-dagrapport."""
    lines = [
        Line(("Z-dagrapport",), bold=True, size=16),
        Line((z.company_name or "(företagsnamn saknas)",), bold=True, size=12, space_before=6),
        Line(("Organisationsnummer", z.org_number)),
        Line(("Kassa", z.register.id)),
        Line(("Kontrollenhet", z.register.control_unit_id)),
        Line(("Z-nummer", str(z.z_number))),
        Line(("Försäljningsdag", z.business_date.isoformat())),
        Line(("Öppnad", _when(z.opened_at))),
        Line(("Stängd", _when(z.closed_at))),
        Line(("Rapport skapad", _when(z.generated_at))),
        Line(("Valuta", z.currency)),
    ]
    lines += _sales_table("Försäljning per varugrupp och momssats", z.sales)
    lines += _vat_summary(z)
    if z.returns:
        lines += _sales_table("Returer", z.returns)
    lines += [_heading("Betalningar")]
    lines += [Line((METHOD_LABELS.get(p.method, p.method), "", kr(p.amount))) for p in z.payments]
    lines.append(Line(("Summa betalningar", "", kr(z.total_payments)), bold=True))
    if z.tips:
        lines += [_heading("Dricks")]
        lines += [Line((METHOD_LABELS.get(t.method, t.method), "", kr(t.amount))) for t in z.tips]
    lines += [_heading("Kassa"), Line(("Öresavrundning", "", kr(z.rounding)))]
    if z.float_amount is not None:
        lines.append(Line(("Växelkassa", "", kr(z.float_amount))))
    if z.cash_count is not None:
        lines += [
            Line(("Förväntat i kassan", "", kr(z.cash_count.expected))),
            Line(("Räknat", "", kr(z.cash_count.counted))),
            Line(("Kassadifferens", "", kr(z.cash_count.difference))),
        ]
    if z.counts:
        lines += [_heading("Antal")]
        lines += [Line((COUNT_LABELS.get(k, k), str(v))) for k, v in z.counts.items()]
    if z.control_figures:
        lines += [_heading("Kontrolluppgifter"), Line(("", "Antal", "Belopp"), bold=True)]
        lines += [_control_line(name, figure) for name, figure in z.control_figures.items()]
    if z.grand_totals is not None:
        lines += [
            _heading("Grand total"),
            Line(("Försäljning", "", kr(z.grand_totals.sales))),
            Line(("Returer", "", kr(z.grand_totals.returns))),
            Line(("Netto", "", kr(z.grand_totals.net))),
        ]
    missing = z.missing_required_items()
    if missing:
        lines += [_heading("Uppgifter som saknas i registrets rapport")]
        lines += [Line((item,)) for item in missing]
    return lines


def _vat_summary(z: ZReport) -> list[Line]:
    by_rate: dict[str, list[Decimal]] = {}
    for row in z.sales:
        net_vat = by_rate.setdefault(row.vat_rate, [ZERO, ZERO])
        net_vat[0] += row.net
        net_vat[1] += row.vat
    lines = [_heading("Moms per momssats"), Line(("Momssats", "", "Netto", "Moms kr"), bold=True)]
    for rate in sorted(by_rate, key=lambda r: -int(r)):
        net, vat = by_rate[rate]
        lines.append(Line((f"{rate} %", "", kr(net), kr(vat))))
    return lines


def _control_line(name: str, figure: CountAmount) -> Line:
    return Line((CONTROL_LABELS.get(name, name), str(figure.count), kr(figure.amount)))


def z_report_pdf(z_report: ZReport) -> bytes:
    """The PDF of ``z_report``, ready to attach to its voucher."""
    title = f"Z-dagrapport {z_report.z_number} {z_report.register.id} {z_report.business_date.isoformat()}"
    return render_pdf(z_report_lines(z_report), title)


def pdf_filename(z_report: ZReport) -> str:
    """``Z-142_Kassa-1_2026-03-14.pdf``: letters, digits and - _ only, as Visma and Fortnox accept."""
    register = "".join(ch if ch.isalnum() else "-" for ch in z_report.register.id)
    return f"Z-{z_report.z_number}_{register}_{z_report.business_date.isoformat()}.pdf"


# -- the PDF writer ----------------------------------------------------------------------------------------


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (cp1252); characters it lacks print as ``?``."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _text(font: bytes, size: float, x: float, y: float, text: str) -> bytes:
    return b"BT " + font + b" %g Tf 1 0 0 1 %d %.1f Tm " % (size, x, y) + _pdf_string(text) + b" Tj ET"


def _pages(lines: Sequence[Line], footer: str) -> list[bytes]:
    """Content streams, one per page: each cell placed with an absolute text matrix (``Tm``), and the
    footer with the page number at the bottom of every page."""
    pages: list[list[bytes]] = []
    ops: list[bytes] = []
    y = PAGE_HEIGHT - MARGIN
    for line in lines:
        step = line.size * 1.4 + line.space_before
        if y - step < MARGIN and ops:
            pages.append(ops)
            ops, y = [], PAGE_HEIGHT - MARGIN
        y -= step
        font = b"/F2" if line.bold else b"/F1"
        for x, cell in zip((MARGIN, *COLUMNS), line.cells, strict=False):
            if cell:
                ops.append(_text(font, line.size, x, y, cell))
    pages.append(ops)
    return [
        b"\n".join([*ops, _text(b"/F1", 8, MARGIN, MARGIN / 2, f"{footer} \u2013 sida {n} av {len(pages)}")])
        for n, ops in enumerate(pages, start=1)
    ]


def render_pdf(lines: Sequence[Line], title: str = "") -> bytes:
    """A PDF 1.4 document of ``lines`` on A4 pages (Helvetica and Helvetica-Bold, WinAnsiEncoding), the
    title in its information dictionary and in every page's footer."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in when the pages are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + _pdf_string(title) + b" /Producer (Dagskassa) >>",
    ]
    kids = []
    for content in _pages(lines, title):
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
            b"/Contents %d 0 R >>" % (PAGE_WIDTH, PAGE_HEIGHT, len(objects))
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(kids)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
