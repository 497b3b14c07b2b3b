"""What the reader refuses, each with the line number and a fix, and the #KSUMMA rule of the standard."""

from __future__ import annotations

import zlib

import pytest

from exporters.core.errors import FixData
from exporters.sie import SieError, iter_sie, read_sie

HEAD = "#FLAGGA 0\n#PROGRAM Test 1\n#FORMAT PC8\n#GEN 20260101\n#SIETYP 4\n#FNAMN Test\n"
VOUCHER = '#VER "" "" 20260102 "Dag"\n{\n#TRANS 1910 {} 100.00\n#TRANS 3001 {} -100.00\n}\n'


def sie(text: str) -> bytes:
    return text.encode("cp437")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            HEAD + '#VER "" "" 20260102\n{\n#TRANS 1910 {} 100.00\n#TRANS 3001 {} -99.99\n}\n',
            7,
            "sum to 0.01",
        ),
        (HEAD + '#VER "" "" 20260231\n{\n}\n', 7, "not a date"),
        (HEAD + '#VER "" ""\n{\n}\n', 7, "needs series, number and date"),
        (HEAD + '#VER "" "" 20260102\n{\n#TRANS 1910 {} 10,00\n}\n', 9, "not an amount"),
        (HEAD + '#VER "" "" 20260102\n{\n#TRANS 1910 {} 10.001\n}\n', 9, "not an amount"),
        (HEAD + '#VER "" "" 20260102\n{\n#TRANS 19A0 {} 0\n}\n', 9, "not an account number"),
        (HEAD + '#VER "" "" 20260102\n{\n#TRANS 1910 {1} 0\n}\n', 9, "pairs of dimension and object"),
        (HEAD + '#VER "" "" 20260102\n{\n#TRANS 1910 {1 "A" 0\n}\n', 9, "not closed"),
        (HEAD + '#VER "" "" 20260102\n{\n#TRANS 1910 {} 0 "" "text\n}\n', 9, "quoted field is not closed"),
        (HEAD + '#VER "" "" 20260102\n{\n#TRANS 1910 {} 0 20260132\n}\n', 9, "transaction date"),
        (HEAD + "#TRANS 1910 {} 0\n", 7, "outside a voucher"),
        (HEAD + '#VER "" "" 20260102\n#KONTO 1910 Kassa\n', 7, "followed by {"),
        (HEAD + VOUCHER[:-2], 7, "ends inside this voucher"),
        (HEAD + '#VER "" "" 20260102\n{\n#VER "" "" 20260103\n', 7, "not closed with }"),
        (HEAD + "}\n", 7, "without an open voucher"),
        (HEAD + "{\n", 7, "without a #VER"),
        (HEAD + "Kassa 1910\n", 7, "not with a #label"),
        (HEAD + "#IB 0 1910\n", 7, "needs a year, an account and an amount"),
        (HEAD + "#IB x 1910 100\n", 7, "not a year"),
        (HEAD + "#RAR 0 20260101 2026\n", 7, "#RAR date"),
        (HEAD + '#VER "" "" 20260102\n{ #TRANS 1910 {} 0\n}\n', 8, "must stand alone"),
    ],
)
def test_errors_name_the_line(text, line, words):
    with pytest.raises(SieError) as caught:
        read_sie(sie(text))
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")
    assert words in str(caught.value)
    assert isinstance(caught.value, FixData)
    assert caught.value.fix


def test_a_missing_file_is_a_sie_error():
    with pytest.raises(SieError, match="cannot open"):
        read_sie("/nonexistent/file.se")


def test_the_standard_example_of_what_ksumma_covers():
    # [4B] 10.14: #KONTO 1915 "Kassa \"special\"" contributes #KONTO1915Kassa "special".
    checksum = zlib.crc32('#KONTO1915Kassa "special"'.encode("cp437"))
    text = f'#FLAGGA 0\n#KSUMMA\n#KONTO 1915 "Kassa \\"special\\""\n#KSUMMA {checksum}\n'
    assert read_sie(sie(text)).checksum == checksum


def test_ksumma_counts_fields_not_separators_quotes_or_braces():
    body = [
        "#SIETYP\t4",
        '#VER "A" 1 20260102 ""',
        "{",
        '\t#TRANS 1910 {1 "KS 1"} 5.00',
        "#TRANS 3001 {} -5.00",
        "}",
    ]
    covered = "#SIETYP4" + "#VERA120260102" + "#TRANS19101KS 15.00" + "#TRANS3001-5.00"
    checksum = zlib.crc32(covered.encode("cp437"))
    text = "#FLAGGA 0\n#KSUMMA\n" + "\n".join(body) + f"\n#KSUMMA {checksum}\n"
    assert read_sie(sie(text)).checksum == checksum


def test_a_wrong_checksum_is_refused_after_the_records_before_it():
    text = HEAD.replace("#FLAGGA 0\n", "#FLAGGA 0\n#KSUMMA\n") + VOUCHER + "#KSUMMA 12345\n"
    items = []
    with pytest.raises(SieError, match="does not match") as caught:
        items.extend(iter_sie(sie(text)))
    assert caught.value.line == text.count("\n")
    assert any(type(item).__name__ == "SieVoucher" for item in items)


def test_an_opened_checksum_that_never_closes_means_a_cut_file():
    text = HEAD.replace("#FLAGGA 0\n", "#FLAGGA 0\n#KSUMMA\n") + VOUCHER
    with pytest.raises(SieError, match="never closes"):
        read_sie(sie(text))


@pytest.mark.parametrize(
    ("tail", "words"),
    [
        ("#KSUMMA 1\n", "without the opening"),
        ("#KSUMMA\n#KSUMMA\n", "second opening"),
        ("#KSUMMA\n#KSUMMA abc\n", "not a checksum"),
    ],
)
def test_checksum_records_out_of_place(tail, words):
    with pytest.raises(SieError, match=words):
        read_sie(sie(HEAD + tail))


def test_nothing_may_follow_the_closing_checksum():
    checksum = zlib.crc32(b"#SIETYP4")
    text = f"#FLAGGA 0\n#KSUMMA\n#SIETYP 4\n#KSUMMA {checksum}\n\n#KONTO 1910 Kassa\n"
    with pytest.raises(SieError, match="after the closing #KSUMMA") as caught:
        read_sie(sie(text))
    assert caught.value.line == 6


def test_rows_written_in_every_allowed_way_read_the_same():
    """The reader reads the usual row shape in one match and anything else field by field: both agree."""
    usual = HEAD + (
        '#VER "" "" 20260102 "Dag"\n{\n'
        '#TRANS 1910 {1 "KS1" 6 "P 7"} 100.50 20260102 "Kassa \\"K1\\"" 2.5 "AB"\n'
        '#RTRANS 3001 {} -100.50 "" "Försäljning"\n'
        "#TRANS 3001 {} -100.50\n}\n"
    )
    unusual = HEAD + (
        '#VER "" "" "20260102" Dag\n{\n'
        '#TRANS "1910" { "1"\t"KS1" "6" "P 7" } "100.50" "20260102" "Kassa \\"K1\\"" "2.5" AB\n'
        '#rtrans 3001 {} -100.50 "" Försäljning\n'
        '#TRANS 3001 {} "-100.50" "" "" "" "" extra\n}\n'
    )
    assert read_sie(sie(usual)).vouchers[0][:9] == read_sie(sie(unusual)).vouchers[0][:9]
    row = read_sie(sie(usual)).vouchers[0].rows[0]
    assert (row.objects, row.text, str(row.quantity), row.sign) == (
        (("1", "KS1"), ("6", "P 7")),
        'Kassa "K1"',
        "2.5",
        "AB",
    )
