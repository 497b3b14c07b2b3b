"""The SIE 4I writer: what it writes reads back as the same vouchers, and the file is checked field by field
against the standard's rules for 4I (FACTS.md 1.3-1.5, 1.9) and Fortnox's importer (the Fortnox sandbox has
no SIE import)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from exporters.core.errors import FixData
from exporters.sie import read_sie
from exporters.sie.export import BAS_ACCOUNT_NAMES
from exporters.sie.text import TOKEN
from exporters.sie.writer import Company, fit_text, pc8_text, sie_org_number, voucher_text, write_sie_4i

GENERATED = date(2026, 3, 16)
MANDATORY_4I = ("FLAGGA", "PROGRAM", "FORMAT", "GEN", "FNAMN", "SIETYP")
NOT_ALLOWED_4I = ("BKOD", "OMFATTN", "IB", "UB", "RES", "OIB", "OUB", "PSALDO", "PBUDGET")
DATE = re.compile(r"\d{8}")
AMOUNT = re.compile(r"-?\d+\.\d{2}")


@pytest.fixture
def vouchers(make_voucher):
    return [
        make_voucher(date(2026, 3, 14), 142),
        make_voucher(date(2026, 3, 15), 143, cost_center="KS1", project="P7"),
        make_voucher(date(2026, 3, 13), 141, series=None),
    ]


def records(content: bytes) -> list[list[str]]:
    return [TOKEN.findall(line) for line in content.decode("cp437").split("\r\n") if line]


def as_read(voucher):
    """A voucher as the reader gives it back: date, series, and the rows' account/amount/objects/text."""
    rows = []
    for row in voucher.rows:
        objects = tuple(pair for pair in (("1", row.cost_center), ("6", row.project)) if pair[1] is not None)
        rows.append((row.account, row.amount, objects, row.text))
    return voucher.transaction_date, voucher.series or "", rows


@pytest.mark.parametrize("checksum", [False, True])
def test_write_then_read_gives_the_same_vouchers(vouchers, company, checksum):
    content = write_sie_4i(vouchers, company, BAS_ACCOUNT_NAMES, generated=GENERATED, checksum=checksum)
    sie = read_sie(content)
    read_back = [
        (ver.date, ver.series, [(row.account, row.amount, row.objects, row.text) for row in ver.rows])
        for ver in sie.vouchers
    ]
    assert read_back == sorted((as_read(voucher) for voucher in vouchers), key=lambda item: item[0])
    assert [ver.text for ver in sie.vouchers] == [
        voucher_text(v) for v in sorted(vouchers, key=lambda v: v.transaction_date)
    ]
    assert all(ver.number == "" and ver.reg_date == GENERATED for ver in sie.vouchers)
    assert sie.kind == "4I"
    assert (sie.checksum is not None) == checksum
    assert {number: sie.accounts[number] for number in sie.accounts} == {
        number: BAS_ACCOUNT_NAMES[number] for number in {row.account for v in vouchers for row in v.rows}
    }


def test_the_file_field_by_field(vouchers, company):
    content = write_sie_4i(vouchers, company, BAS_ACCOUNT_NAMES, generated=GENERATED, checksum=True)
    # Characters and lines: CP437, every line ends CR LF, no control characters, no UTF-8.
    assert content.endswith(b"\r\n")
    assert b"\n" not in content.replace(b"\r\n", b"")
    assert b"\r" not in content.replace(b"\r\n", b"")
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", content.replace(b"\r\n", b""))
    assert b"\xc3" not in content  # "ö" in UTF-8 starts with 0xC3; in CP437 it is 0x94
    assert "Försäljning".encode("cp437") in content
    lines = content.decode("cp437").split("\r\n")[:-1]
    recs = records(content)
    labels = [rec[0] for rec in recs if rec[0].startswith("#")]

    # Order and presence (FACTS 1.4, 1.5, 1.8): #FLAGGA 0 first, #KSUMMA right after it and last.
    assert lines[0] == "#FLAGGA 0"
    assert lines[1] == "#KSUMMA"
    assert re.fullmatch(r"#KSUMMA \d+", lines[-1])
    for label in MANDATORY_4I:
        assert labels.count("#" + label) == 1, label
    for label in NOT_ALLOWED_4I:
        assert "#" + label not in labels
    # Fortnox refuses these four quoted; the values are the standard's.
    bare = {
        line.split(" ", 1)[0]: line.split(" ", 1)[1]
        for line in lines
        if line.split(" ")[0] in ("#FLAGGA", "#FORMAT", "#SIETYP", "#ORGNR", "#GEN")
    }
    assert bare == {
        "#FLAGGA": "0",
        "#FORMAT": "PC8",
        "#SIETYP": "4",
        "#ORGNR": "556677-8899",
        "#GEN": "20260316",
    }
    assert lines[2] == '#PROGRAM "Dagskassa" 1.0'
    assert '#FNAMN "Exempelkrogen AB"' in lines
    # Group order: identification before the chart, the chart before the vouchers.
    assert labels.index("#ORGNR") < labels.index("#KONTO") < labels.index("#VER")

    in_voucher = False
    vers = 0
    for line, rec in zip(lines, records(content), strict=True):
        label = rec[0]
        if label == "{":
            assert line == "{" and not in_voucher
            in_voucher = True
        elif label == "}":
            assert line == "}" and in_voucher
            in_voucher = False
        elif label == "#KONTO":
            assert re.fullmatch(r'#KONTO \d{4} "[^"]+"', line)
        elif label == "#VER":
            vers += 1
            assert not in_voucher
            series, number, when, text, registered = rec[1:]
            assert series in ('"K"', '""') and number == '""'
            assert DATE.fullmatch(when) and date(int(when[:4]), int(when[4:6]), int(when[6:]))
            assert registered == "20260316"
            assert len(text) - 2 <= 50 and re.search(r"\[dk:[0-9a-f]{12}\]\"$", text)
        elif label == "#TRANS":
            assert in_voucher
            account, brace = rec[1], rec[2]
            assert re.fullmatch(r"\d{4}", account) and brace == "{"
            close = rec.index("}")
            assert (close - 3) % 2 == 0
            amount, transdate, text = rec[close + 1 :]
            assert AMOUNT.fullmatch(amount)
            assert transdate == '""'
            assert text.startswith('"') and len(text) - 2 <= 50
    assert vers == 3 and not in_voucher


def test_cost_center_and_project_are_dimensions_1_and_6(make_voucher, company):
    voucher = make_voucher(date(2026, 3, 15), 143, cost_center="KS1", project="P7")
    content = write_sie_4i([voucher], company, {}, generated=GENERATED)
    assert '#TRANS 1910 {"1" "KS1" "6" "P7"} 2927.60 "" "Kontant"' in content.decode("cp437")
    assert b"#KONTO" not in content  # no names given, no #KONTO (optional in 4I)


def test_objects_named_are_declared(make_voucher, company):
    voucher = make_voucher(date(2026, 3, 15), 143, cost_center="KS1")
    content = write_sie_4i([voucher], company, {}, generated=GENERATED, objects={("1", "KS1"): "Köket"})
    assert read_sie(content).objects == {("1", "KS1"): "Köket"}


def test_long_descriptions_are_cut_to_50_and_keep_the_marker(make_voucher):
    voucher = make_voucher(date(2026, 3, 14), 142)
    long = replace(
        voucher,
        description="Z 142 Kassa 1 Restaurangen vid torget i gamla stan 2026-03-14 [" + voucher.marker + "]",
    )
    text = voucher_text(long)
    assert len(text) == 50
    assert text.endswith(f" [{voucher.marker}]")
    assert text.startswith("Z 142 Kassa 1 Restaurangen")
    bare = replace(voucher, description="Z 142 Kassa 1")
    assert voucher_text(bare) == f"Z 142 Kassa 1 [{voucher.marker}]"


def test_fit_text():
    assert fit_text("kort") == "kort"
    assert fit_text("x" * 60) == "x" * 50
    assert fit_text("a" * 60 + " [dk:1]", keep="[dk:1]") == "a" * 43 + " [dk:1]"
    # A closing backslash is written with a space after it (see test below): that counts too.
    assert fit_text("a" * 48 + "\\") == "a" * 48 + "\\"
    assert fit_text("a" * 49 + "\\") == "a" * 49
    assert fit_text("a" * 49 + "\\b") == "a" * 49


def test_characters_outside_cp437():
    assert pc8_text("Kaffe 5 € – “bästa”", "text") == 'Kaffe 5 EUR - "bästa"'
    assert pc8_text("Crème brûlée", "text") == "Crème brûlée"  # CP437 has these
    assert pc8_text("Łódź\tbar", "text") == "Lódz bar"  # ó is in CP437; ź is not: z
    assert pc8_text("Smørrebrød", "text") == "Smörrebröd"
    with pytest.raises(FixData, match="product text"):
        pc8_text("Sushi 寿司", "product text")


def test_org_numbers():
    assert sie_org_number("5566778899") == "556677-8899"
    assert sie_org_number("556677-8899") == "556677-8899"
    with pytest.raises(FixData, match="organisation number"):
        sie_org_number("19556677-8899")


def test_empty_vouchers_are_left_out(make_voucher, company):
    voucher = make_voucher(date(2026, 3, 14), 142)
    empty = replace(voucher, rows=())
    assert read_sie(write_sie_4i([voucher, empty], company, {}, generated=GENERATED)).vouchers[
        0
    ].date == date(2026, 3, 14)
    assert len(read_sie(write_sie_4i([voucher, empty], company, {}, generated=GENERATED)).vouchers) == 1


def test_company_names_are_pc8_and_quoted():
    content = write_sie_4i([], Company('Kafé "Hörnet" AB', "5566778899"), {}, generated=GENERATED)
    assert '#FNAMN "Kafé \\"Hörnet\\" AB"' in content.decode("cp437")
    assert read_sie(content).company_name == 'Kafé "Hörnet" AB'


def test_a_text_ending_in_a_backslash_stays_apart_from_the_closing_quote(make_voucher, company):
    voucher = make_voucher(date(2026, 3, 14), 142)
    odd = replace(voucher, rows=tuple(replace(row, text="Kassa\\") for row in voucher.rows))
    content = write_sie_4i([odd], company, {}, generated=GENERATED)
    assert '#TRANS 1910 {} 2927.60 "" "Kassa\\ "' in content.decode("cp437")
    assert read_sie(content).vouchers[0].rows[0].text == "Kassa\\ "
