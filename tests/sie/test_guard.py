"""The double-import guard: layer 1 (one channel per day) and layer 3 (a SIE file checked against what
Dagskassa posted), and the SIE export channel that layer 1 protects."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from exporters.core.errors import FixData
from exporters.providers import PostedVoucher
from exporters.sie import ChannelConflict, iter_sie, read_sie
from exporters.sie.export import export_days
from exporters.sie.guard import (
    EXACT,
    PROBABLE,
    BookedVoucher,
    check_sie_export,
    check_sie_file,
    check_sync_start,
    find_duplicates,
    parse_posted,
)
from exporters.sie.model import SieVoucher
from exporters.sie.writer import write_sie_4i
from tests.sie.conftest import FIXTURES

D = date(2026, 3, 14)


def days(*numbers: int) -> list[date]:
    return [date(2026, 3, number) for number in numbers]


# -- layer 1 -------------------------------------------------------------------------------------------


def test_a_sie_export_over_api_posted_days_is_refused_with_the_days():
    with pytest.raises(ChannelConflict) as caught:
        check_sie_export(days(12, 13, 14, 15), days(10, 13, 15))
    assert caught.value.days == tuple(days(13, 15))
    assert "2026-03-13, 2026-03-15" in str(caught.value)
    assert "one channel" in caught.value.fix
    check_sie_export(days(12, 14), days(10, 13, 15))


def test_sync_over_sie_exported_days_needs_a_start_after_them():
    with pytest.raises(ChannelConflict) as caught:
        check_sync_start(date(2026, 3, 12), days(1, 12, 14))
    assert caught.value.days == tuple(days(12, 14))
    assert "2026-03-15" in caught.value.fix
    check_sync_start(date(2026, 3, 15), days(1, 12, 14))


# -- the export channel --------------------------------------------------------------------------------


def test_export_days_writes_only_the_chosen_days(make_voucher, company):
    vouchers = [make_voucher(day, number) for number, day in enumerate(days(12, 13, 14), 1)]
    content = export_days(vouchers, days(12, 14), company, generated=date(2026, 3, 20))
    assert [ver.date for ver in read_sie(content).vouchers] == days(12, 14)


def test_export_days_refuses_api_days_and_days_without_a_voucher(make_voucher, company):
    vouchers = [make_voucher(day, number) for number, day in enumerate(days(12, 13), 1)]
    with pytest.raises(ChannelConflict, match="2026-03-13"):
        export_days(vouchers, days(12, 13), company, generated=D, posted_via_api=days(13))
    with pytest.raises(FixData, match="no voucher for these days: 2026-03-14"):
        export_days(vouchers, days(12, 14), company, generated=D)
    with pytest.raises(FixData, match="no days"):
        export_days(vouchers, [], company, generated=D)


# -- layer 3 -------------------------------------------------------------------------------------------


def sie_vouchers(content: bytes) -> list[SieVoucher]:
    return read_sie(content).vouchers


def test_our_own_export_imported_after_posting_is_an_exact_duplicate(make_voucher, company):
    posted = [make_voucher(day, number) for number, day in enumerate(days(12, 13, 14), 1)]
    content = write_sie_4i(posted[1:], company, {}, generated=D)
    matches = find_duplicates(sie_vouchers(content), [BookedVoucher.from_voucher(v, "K 7") for v in posted])
    assert [(match.kind, match.voucher.date) for match in matches] == [(EXACT, days(13)[0]), (EXACT, D)]
    assert matches[0].evidence["marker"] == posted[1].marker
    assert matches[0].evidence["pairs"] == len(posted[1].rows)
    assert "EXACT duplicate of K 7" in matches[0].describe()


def test_a_register_export_with_other_payment_accounts_is_a_probable_duplicate(make_voucher, company):
    ours = make_voucher(D, 142)
    # The register books card to 1932 and Swish to 1925 and rounds nothing: same sales and VAT, other rows.
    theirs = replace(
        ours,
        description="nr. 142",
        marker="",
        rows=tuple(
            replace(row, account={1580: 1932, 1930: 1925}.get(row.account, row.account)) for row in ours.rows
        ),
    )
    content = write_sie_4i([theirs], company, {}, generated=D)
    [match] = find_duplicates(sie_vouchers(content), [BookedVoucher.from_voucher(ours)])
    assert match.kind == PROBABLE
    assert match.evidence["sales_total"] == "-12800.00"
    assert match.evidence["vat_total"] == "-1978.00"
    assert "1580: 0.00 in the file, 9000.00 posted" in match.evidence["differences"]
    assert "1932: 9000.00 in the file, 0.00 posted" in match.evidence["differences"]
    assert "marker" not in match.evidence
    assert "PROBABLE" in match.describe()


def test_other_days_and_other_figures_are_not_duplicates(make_voucher, company):
    ours = make_voucher(D, 142)
    other_day = make_voucher(date(2026, 3, 15), 143)
    # One krona more sales, balanced by one more krona in cash: the VAT matches, the sales do not.
    more_sales = [
        replace(row, credit=row.credit + Decimal("1.00")) if row.account == 3001 else row for row in ours.rows
    ]
    cash = replace(ours.rows[0], debit=Decimal("1.00"), credit=Decimal("0.00"))
    changed = replace(ours, rows=(*more_sales, cash))
    content = write_sie_4i([other_day, changed], company, {}, generated=D)
    assert find_duplicates(sie_vouchers(content), [BookedVoucher.from_voucher(ours)]) == []


def test_the_check_streams_a_real_shaped_register_export():
    posted = parse_posted(
        [
            {
                "transaction_date": "2026-04-01",
                "series": "K",
                "number": 12,
                "description": "Z 312 Kassa 1 2026-04-01 [dk:0123456789ab]",
                "marker": "dk:0123456789ab",
                "rows": [
                    {"account": 1580, "debit": "5608.00", "credit": "0.00"},
                    {"account": 2611, "amount": "-339.20"},
                    {"account": 2631, "amount": "-229.50"},
                    {"account": "3001", "amount": "-3825.00"},
                    {"account": 3002, "credit": "1214.30"},
                ],
            }
        ]
    )
    items = iter_sie(FIXTURES / "kassa_z_rapporter_4i.si")
    matches = find_duplicates(
        (item for item in items if isinstance(item, SieVoucher)),
        posted,
        vat_accounts=range(2610, 2640),
    )
    [match] = matches
    assert (match.kind, match.voucher.number, match.posted.reference) == (PROBABLE, "312", "K 12")
    assert match.to_dict()["sie_voucher"]["line"] == 33


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"vouchers": "x"}, "must be a JSON list"),
        ([1], r"vouchers\[0\] must be an object"),
        ([{"transaction_date": "14/3", "rows": []}], r"vouchers\[0\].transaction_date"),
        ([{"transaction_date": "2026-03-14"}], r"vouchers\[0\].rows must be a list"),
        ([{"transaction_date": "2026-03-14", "rows": [{"account": "x"}]}], r"rows\[0\].account"),
        ([{"transaction_date": "2026-03-14", "rows": [{"account": 1910, "debit": 1.5}]}], r"rows\[0\]: "),
    ],
)
def test_posted_json_problems_name_their_place(data, words):
    with pytest.raises(FixData, match=words):
        parse_posted(data)


def test_booked_vouchers_from_a_provider_listing(make_voucher, company):
    ours = make_voucher(D, 142)
    listed = PostedVoucher(
        ref="K 142 (2026)",
        transaction_date=D,
        description=ours.description,
        rows=tuple((row.account, row.debit, row.credit) for row in ours.rows),
    )
    booked = BookedVoucher.from_posted(listed)
    assert booked.marker == ours.marker
    assert booked.rows == BookedVoucher.from_voucher(ours).rows
    [match] = find_duplicates(sie_vouchers(write_sie_4i([ours], company, {}, generated=D)), [booked])
    assert (match.kind, match.posted.label()) == (EXACT, "K 142 (2026)")


def test_check_a_file_reports_its_company(make_voucher, company):
    ours = make_voucher(D, 142)
    content = write_sie_4i([ours], company, {}, generated=D)
    report = check_sie_file(content, [BookedVoucher.from_voucher(ours)], org_number="5566778899")
    assert (report.vouchers, len(report.duplicates), report.org_number) == (1, 1, "556677-8899")
    assert not report.other_company
    other = check_sie_file(content, [], org_number="16559988-7766")
    assert other.other_company and other.duplicates == ()
    assert other.lines("dagar.si") == [
        "dagar.si is for organisation number 556677-8899, not this store's",
        "none of the 1 vouchers in dagar.si books a day already posted",
    ]
    assert other.to_dict()["other_company"] is True
