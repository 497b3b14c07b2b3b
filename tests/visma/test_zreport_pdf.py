"""The Z-report PDF: its text, read back from the content streams, carries the register's figures; it is
attached to the voucher in Visma once, and the sandbox's ledger shows it."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from exporters.core.errors import OutcomeUnknown
from exporters.core.zreport import ZReport
from exporters.visma.provider import VismaSession
from exporters.visma.sandbox import SandboxState
from exporters.zreport_pdf import kr, pdf_filename, z_report_pdf
from tests.visma.pdftext import page_lines


def test_the_text_matches_the_z_reports_figures(z_report: ZReport) -> None:
    pdf = z_report_pdf(z_report)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    pages = page_lines(pdf)
    assert [page[-1] for page in pages] == [
        f"Z-dagrapport 142 Kassa 1 2026-03-14 \u2013 sida {n} av {len(pages)}"
        for n in range(1, len(pages) + 1)
    ]
    lines = [line for page in pages for line in page]
    text = "\n".join(lines)
    assert lines[0] == "Z-dagrapport"
    for expected in (
        "Exempelkrogen AB",
        "Organisationsnummer | 556677-8899",
        "Kassa | Kassa 1",
        "Kontrollenhet | CU-0001-2345",
        "Z-nummer | 142",
        "Försäljningsdag | 2026-03-14",
        "Stängd | 2026-03-14 23:41:00 +0100",
        "Rapport skapad | 2026-03-14 23:41:12 +0100",
        "Dryck | 25 % | 4 000,00 kr | 1 000,00 kr | 5 000,00 kr",
        "Mat | 12 % | 8 000,00 kr | 960,00 kr | 8 960,00 kr",
        "Tidningar | 6 % | 500,00 kr | 30,00 kr | 530,00 kr",
        "Presentkort | 0 % | 400,00 kr | 0,00 kr | 400,00 kr",
        "Summa | 12 900,00 kr | 1 990,00 kr | 14 890,00 kr",
        "Mat | 12 % | 100,00 kr | 12,00 kr | 112,00 kr",
        "Kontant | 2 927,60 kr",
        "Kort | 9 000,00 kr",
        "Swish | 2 500,00 kr",
        "Presentkort | 600,00 kr",
        "Summa betalningar | 15 027,60 kr",
        "Öresavrundning | -0,40 kr",
        "Växelkassa | 2 000,00 kr",
        "Kassadifferens | -10,00 kr",
        "Antal kvitton | 187",
        "Antal lådöppningar | 64",
        "Returer | 1 | 112,00 kr",
        "Rabatter | 3 | 145,00 kr",
        "Kvittokopior | 2 | 356,00 kr",
        "Försäljning | 4 123 456,00 kr",
        "Netto | 4 100 000,00 kr",
    ):
        assert expected in lines, f"{expected!r} not in the PDF's text:\n{text}"
    assert sum(z_report.payments_by_method().values()) == z_report.total_payments
    assert kr(z_report.total_payments) in text


def test_characters_outside_winansi_do_not_break_the_pdf(z_report: ZReport) -> None:
    odd = replace(z_report, company_name="Café (Ölstugan) \\ Łódź ☕")
    lines = [line for page in page_lines(z_report_pdf(odd)) for line in page]
    assert "Café (Ölstugan) \\ ?ód? ?" in lines


def test_attached_once_and_visible_in_the_ledger(
    session: VismaSession, state: SandboxState, voucher, z_report: ZReport, http: httpx.Client
) -> None:
    posted = session.post_voucher(voucher)
    pdf = z_report_pdf(z_report)
    session.attach_file(posted, pdf_filename(z_report), pdf)
    session.attach_file(posted, pdf_filename(z_report), pdf)  # again, e.g. after a crash: no second copy
    ledger = http.get("/_sandbox/ledger.json").json()
    entry = ledger[0]["vouchers"][0]
    assert entry["number"] == posted.ref
    assert [a["file_name"] for a in entry["attachments"]] == ["Z-142_Kassa-1_2026-03-14.pdf"]
    download = http.get(entry["attachments"][0]["url"])
    assert download.content == pdf and download.headers["Content-Type"] == "application/pdf"
    assert "Z-142_Kassa-1_2026-03-14.pdf" in http.get("/_sandbox/ledger").text


def test_an_upload_whose_link_was_lost_is_reused(
    session: VismaSession, state: SandboxState, voucher, z_report: ZReport
) -> None:
    posted = session.post_voucher(voucher)
    state.knobs.add_fault("drop", nth=(1,), method="POST", path="/v2/attachmentlinks")
    pdf = z_report_pdf(z_report)
    with pytest.raises(OutcomeUnknown):
        session.attach_file(posted, pdf_filename(z_report), pdf)
    session.attach_file(posted, pdf_filename(z_report), pdf)
    company = state.companies["exempelkrogen"]
    assert len(company.attachments) == 1
    assert next(iter(company.vouchers.values())).attachment_ids == list(company.attachments)


def test_an_upload_whose_answer_was_lost_is_found_and_linked(
    session: VismaSession, state: SandboxState, voucher, z_report: ZReport
) -> None:
    posted = session.post_voucher(voucher)
    state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/v2/attachments")
    pdf = z_report_pdf(z_report)
    with pytest.raises(OutcomeUnknown):
        session.attach_file(posted, pdf_filename(z_report), pdf)
    session.attach_file(posted, pdf_filename(z_report), pdf)
    company = state.companies["exempelkrogen"]
    assert len(company.attachments) == 1
    assert next(iter(company.attachments.values())).data == pdf


def test_the_recorded_upload_is_handed_back_and_linked_once(
    session: VismaSession, state: SandboxState, voucher, z_report: ZReport
) -> None:
    """The pipeline's side of the seam: the upload's id is reported before linking, and given back on the
    next try after the link's answer was lost; the voucher ends with that one attachment."""
    posted = session.post_voucher(voucher)
    state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/v2/attachmentlinks")
    recorded: list[str] = []
    pdf = z_report_pdf(z_report)
    with pytest.raises(OutcomeUnknown):
        session.attach_file(posted, pdf_filename(z_report), pdf, on_upload=recorded.append)
    assert len(recorded) == 1
    again = session.attach_file(
        posted, pdf_filename(z_report), pdf, upload_ref=recorded[0], on_upload=recorded.append
    )
    assert again == recorded[0] and len(recorded) == 1
    company = state.companies["exempelkrogen"]
    assert list(company.attachments) == recorded
    assert next(iter(company.vouchers.values())).attachment_ids == recorded
