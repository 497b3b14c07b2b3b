"""The reader on the project's own SIE files: every file reads, every voucher balances, every #KSUMMA
verifies, and each real-world habit the files carry is read the way the standard means it."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from exporters.sie import Account, Balance, SieVoucher, iter_sie, read_sie
from tests.sie.conftest import FIXTURES, SIE_FILES


def test_there_are_fixtures_of_every_type():
    types = {read_sie(path).kind for path in SIE_FILES}
    assert types == {"1", "2", "3", "4E", "4I"}
    assert len(SIE_FILES) >= 12


@pytest.mark.parametrize("path", SIE_FILES, ids=lambda path: path.name)
def test_every_fixture_reads_balances_and_verifies_its_checksum(path):
    raw = path.read_bytes()
    sie = read_sie(path)
    assert sie.company_name
    assert sie.sie_type in ("1", "2", "3", "4")
    for voucher in sie.vouchers:
        assert sum(row.amount for row in voucher.rows) == 0
        assert voucher.rows
    if b"#KSUMMA" in raw:
        assert sie.checksum is not None
        assert raw.rstrip().endswith(str(sie.checksum).encode())
    else:
        assert sie.checksum is None
    assert len(sie.vouchers) == raw.count(b"#VER")


def test_a_register_export_tab_indented_rows_with_dates_and_texts():
    sie = read_sie(FIXTURES / "kassa_z_rapporter_4i.si")
    assert sie.kind == "4I"
    assert sie.org_number == "5590123456"
    assert sie.company_name == "Åkerblads Kök & Bar AB"
    first = sie.vouchers[0]
    assert (first.series, first.number, first.date, first.text) == ("", "311", date(2026, 3, 31), " nr. 311")
    assert first.rows[0].account == 1932
    assert first.rows[0].amount == Decimal("6120.00")
    assert first.rows[0].date == date(2026, 3, 31)
    assert [row.text for row in first.rows][-3:] == ["ÖL", "VIN", "LÄSK"]
    assert sie.accounts[3020] == "ÖL"
    assert sie.dimensions == {"1": "Kostnadsställe"}


def test_utf8_that_claims_pc8_is_read_as_utf8():
    sie = read_sie(FIXTURES / "molnexport_utf8_pc8.se")
    assert sie.encoding == "utf-8"
    assert sie.company_name == "Öresunds Café & Glass HB"
    assert sie.vouchers[0].text == "Z-rapport Kassa 1 nr 17 – måndag"
    assert sie.accounts[3740] == "Öres- och kronutjämning"


def test_cp437_is_the_standard_and_one_latin1_byte_does_not_flip_the_file():
    sie = read_sie(FIXTURES / "gammal_kassa_blandat.se")
    assert sie.encoding == "cp437"
    assert sie.company_name == "Hörnbutiken i Ort"
    fnr = next(record for record in sie.records if record.label == "FNR")
    # 0xF6 is ö in Latin-1 but ÷ in CP437: the standard's reading wins, the rest of the file is intact.
    assert fnr.fields == ("C:\\Program\\Kassa\\F÷retag\\Hemma",)


def test_quirks_of_older_exports():
    sie = read_sie(FIXTURES / "gammal_kassa_blandat.se")
    labels = [record.label for record in sie.records]
    assert "XKUNDNR" not in labels  # unknown labels are ignored
    assert sie.org_number == "555555-5555"  # quoted, still read
    assert ("FORMAT", ("PC8",)) in [(record.label, record.fields) for record in sie.records]
    assert sie.accounts[1910] == "Kassa"  # an extra trailing field is tolerated
    assert sie.accounts[3010] == "Försäljning\\varor"  # a lone backslash is itself
    voucher = sie.vouchers[0]
    assert voucher.sign == "BE"
    assert [row.account for row in voucher.rows] == [1910, 3010, 2610]  # #OKAND inside is ignored
    assert voucher.rows[0].text == "1820\\A012 Kassa"


def test_rtrans_and_btrans_are_history_only_trans_rows_balance():
    sie = read_sie(FIXTURES / "molnbokforing_4e_rtrans_btrans.se")
    corrected = {(voucher.series, voucher.number): voucher for voucher in sie.vouchers}
    b1, b2 = corrected["B", "1"], corrected["B", "2"]
    assert [row.account for row in b1.rows] == [5460, 2641, 2440]
    assert b1.rows[0].objects == (("1", "S1"),)
    assert [(row.account, row.amount) for row in b1.removed] == [(5460, Decimal("4000"))]
    assert [(row.account, row.objects) for row in b1.added] == [(5460, (("1", "S1"),))]
    assert b1.added[0].sign == "Anna Berg"
    # Summing every row kind would leave B 2 off by 250: the #TRANS rows alone balance.
    everything = sum(row.amount for row in (*b2.rows, *b2.added, *b2.removed))
    assert everything == Decimal("-2750")
    assert b2.total == 0


def test_escaped_quotes_nbsp_and_short_amounts():
    sie = read_sie(FIXTURES / "molnbokforing_4e_rtrans_btrans.se")
    first = sie.vouchers[0]
    assert first.text == 'Faktura 1001 "Ställning v.2"'
    assert first.rows[1].objects == (("1", "U1"), ("6", "P104"))
    assert first.rows[0].date is None  # no transaction date: the voucher's
    assert sie.accounts[2611] == "Utgående moms VMB 25\u00a0%"
    assert sie.objects["6", "P104"] == 'Ombyggnad "Kv. Tjädern"'
    fee = next(voucher for voucher in sie.vouchers if voucher.series == "C")
    assert fee.rows[0].amount == Decimal("87.5")
    assert fee.rows[0].text == 'Avgift "Företag Plus"'
    assert sie.fiscal_years == {
        0: (date(2026, 1, 1), date(2026, 12, 31)),
        -1: (date(2025, 1, 1), date(2025, 12, 31)),
    }


def test_object_lists_quantities_and_indentation():
    sie = read_sie(FIXTURES / "lonekorning_4i.si")
    voucher = sie.vouchers[0]
    assert (voucher.series, voucher.number) == ("", "")
    by_text = {(row.account, row.objects): row for row in voucher.rows}
    assert by_text[7010, (("1", "300"),)].quantity == Decimal("160.00")  # unquoted object id
    assert by_text[7382, (("1", "200"),)].quantity == Decimal("-1.00")
    assert by_text[7210, (("1", "100"), ("6", "Obj300"), ("20", "1234567890"))].amount == Decimal("3750.00")
    assert sie.accounts == {}  # accounts used but not declared are fine in 4I


def test_checksum_over_object_lists_with_tabs_above_two_to_the_31():
    sie = read_sie(FIXTURES / "kompakt_4e_ksumma_objekt.se")
    assert sie.checksum is not None and sie.checksum > 2**31
    assert sie.vouchers[0].rows[1].objects == (("6", "SÅLJ"),)


def test_a_missing_opening_brace_and_lf_endings():
    sie = read_sie(FIXTURES / "konsult_4e_lf_saknad_klammer.se")
    assert [voucher.number for voucher in sie.vouchers] == ["18", "19", "20"]
    assert sie.vouchers[1].rows[0].amount == Decimal("3000.5")


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("arsbokslut_typ1.se", {"IB", "UB", "RES"}),
        ("perioder_typ2.se", {"IB", "UB", "RES", "PSALDO", "PBUDGET"}),
        ("objekt_typ3.se", {"IB", "UB", "RES", "OIB", "OUB", "PSALDO"}),
    ],
)
def test_balances_of_types_1_to_3(name, labels):
    sie = read_sie(FIXTURES / name)
    assert {balance.label for balance in sie.balances} == labels
    assert not sie.vouchers


def test_balance_fields():
    sie = read_sie(FIXTURES / "objekt_typ3.se")
    oub = [balance for balance in sie.balances if balance.label == "OUB"]
    assert oub[0] == Balance("OUB", 0, 1460, Decimal("26000"), None, None, (("1", "01"),), oub[0].line)
    psaldo = [balance for balance in sie.balances if balance.label == "PSALDO"][-1]
    assert psaldo.period == "202512"
    assert psaldo.objects == (("1", "02"), ("20", "VÅR25"))
    assert psaldo.quantity == Decimal("112")
    previous = read_sie(FIXTURES / "arsbokslut_typ1.se").balances
    assert any(balance.year == -1 and balance.label == "UB" for balance in previous)


def test_iter_sie_streams_items_in_file_order_from_a_binary_stream():
    data = (FIXTURES / "bokslut_4e_ksumma_tabb.se").read_bytes()
    items = list(iter_sie(io.BytesIO(data)))
    kinds = [type(item).__name__ for item in items]
    assert kinds.index("Account") < kinds.index("Balance") < kinds.index("SieVoucher")
    assert items[-1].label == "KSUMMA"
    vouchers = [item for item in items if isinstance(item, SieVoucher)]
    assert [voucher.line for voucher in vouchers] == [
        number for number, line in enumerate(data.split(b"\n"), 1) if line.startswith(b"#VER")
    ]
    assert [item.number for item in items if isinstance(item, Account)][:2] == [1910, 1930]


@pytest.mark.parametrize("name", ["molnexport_utf8_pc8.se", "kompakt_4e_ksumma_objekt.se"])
def test_the_same_file_in_pieces_of_any_size_reads_the_same(name):
    data = (FIXTURES / name).read_bytes()
    whole = read_sie(data)
    for size in (1, 7, 64):
        pieces = [data[start : start + size] for start in range(0, len(data), size)]
        in_pieces = read_sie(iter(pieces))
        assert in_pieces.vouchers == whole.vouchers
        assert in_pieces.checksum == whole.checksum
        assert in_pieces.encoding == whole.encoding


def test_a_utf8_byte_order_mark_is_skipped_however_the_bytes_arrive():
    data = b"\xef\xbb\xbf" + '#FLAGGA 0\n#FNAMN "Café Ö"\n'.encode()
    assert read_sie(data).company_name == "Café Ö"
    assert read_sie(iter([data[i : i + 1] for i in range(len(data))])).company_name == "Café Ö"
    assert read_sie(b"\xef\xbb\xbf#FLAGGA 0\n").encoding == "utf-8"


def test_json_form():
    data = read_sie(FIXTURES / "zrapport_kassa2_4i.si").to_dict()
    assert data["company"] == {"name": "Solrosens Livs AB", "org_number": "556987-6543"}
    assert data["kind"] == "4I"
    row = data["vouchers"][0]["rows"][0]
    assert row == {
        "account": 1910,
        "objects": [],
        "amount": "3118.40",
        "date": None,
        "text": "Kontant",
        "quantity": None,
    }
