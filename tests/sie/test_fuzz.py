"""Fuzzing the reader: whatever the bytes, it reads them or raises its own SieError, nothing else; and a
property test of the writer: any vouchers written read back the same."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporters.core.voucher import Voucher, VoucherRow
from exporters.sie import SieError, iter_sie, read_sie
from exporters.sie.writer import Company, voucher_text, write_sie_4i
from tests.sie.conftest import SIE_FILES

pytestmark = pytest.mark.usefixtures("lane")  # the C and the pure-Python fast lane

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID = [path.read_bytes() for path in SIE_FILES]


def read_or_sie_error(data: bytes) -> None:
    try:
        read_sie(data)
    except SieError as exc:
        assert exc.line >= 0
        assert str(exc)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data):
    read_or_sie_error(data)


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_mutated_valid_files(original, data):
    content = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8), label="mutations")):
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]), label="kind")
        where = data.draw(st.integers(0, max(len(content) - 1, 0)), label="where")
        if kind == "flip" and content:
            content[where] = data.draw(
                st.sampled_from(b'#{}" \t\r\n\\-.0123456789AZ\x94\xc3\xff'), label="byte"
            )
        elif kind == "insert":
            content[where:where] = data.draw(st.binary(min_size=1, max_size=12), label="bytes")
        elif kind == "delete":
            del content[where : where + data.draw(st.integers(1, 40), label="length")]
        else:
            del content[where:]
    read_or_sie_error(bytes(content))


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_shuffled_and_repeated_lines(original, data):
    lines = original.split(b"\n")
    picked = data.draw(st.lists(st.sampled_from(lines), max_size=60), label="lines")
    read_or_sie_error(b"\n".join(picked))
    # Streaming stops at the first error too, after yielding what came before.
    try:
        for _ in iter_sie(b"\n".join(picked)):
            pass
    except SieError:
        pass


TOKENS = st.sampled_from(
    [
        "#VER",
        "#TRANS",
        "#RTRANS",
        "#BTRANS",
        "#KSUMMA",
        "#KONTO",
        "#IB",
        "#OIB",
        "#PSALDO",
        "#RAR",
        "#GEN",
        "#SIETYP",
        "#DIM",
        "#OBJEKT",
        "#FOO",
        "{",
        "}",
        "{}",
        '""',
        '"a b"',
        '"\\""',
        '"',
        "\\",
        "1910",
        "-1",
        "0",
        "100.50",
        "1.234",
        "20260314",
        "20261399",
        "202601",
        "x",
        "Ö",
        "\t",
        "  ",
    ]
)


@FUZZ
@given(st.lists(st.lists(TOKENS, max_size=8), max_size=40))
def test_lines_made_of_sie_tokens(lines):
    text = "\r\n".join(" ".join(tokens) for tokens in lines)
    read_or_sie_error(text.encode("cp437"))


# -- the writer ----------------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.sampled_from("abcåäöÅÄÖé \"\\'-/%&€–"), max_size=60)
AMOUNT = st.integers(1, 10**9).map(lambda ore: Decimal(ore) / 100)
ACCOUNTS = st.integers(1000, 8999)


@st.composite
def vouchers(draw) -> Voucher:
    amounts = draw(st.lists(st.tuples(ACCOUNTS, AMOUNT, TEXT), min_size=1, max_size=8))
    rows = [VoucherRow(account, amount, Decimal("0.00"), text) for account, amount, text in amounts]
    total = sum((row.debit for row in rows), Decimal("0.00"))
    cost_center = draw(st.none() | st.text(alphabet="AKS019", min_size=1, max_size=6))
    rows.append(VoucherRow(draw(ACCOUNTS), Decimal("0.00"), total, draw(TEXT), cost_center=cost_center))
    day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    marker = "dk:" + draw(st.text(alphabet="0123456789abcdef", min_size=12, max_size=12))
    description = draw(TEXT) + f" [{marker}]"
    return Voucher(
        day, description, marker, tuple(rows), draw(st.none() | st.sampled_from(["K", "A", "LEV1"]))
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(vouchers(), max_size=5), st.booleans())
def test_any_vouchers_written_read_back_the_same(written, checksum):
    content = write_sie_4i(
        written, Company("Fuzz AB", "5566778899"), {}, generated=date(2027, 1, 1), checksum=checksum
    )
    sie = read_sie(content)
    ordered = sorted(written, key=lambda voucher: voucher.transaction_date)
    assert [(ver.date, ver.series, ver.text) for ver in sie.vouchers] == [
        (voucher.transaction_date, voucher.series or "", voucher_text(voucher)) for voucher in ordered
    ]
    for ver, voucher in zip(sie.vouchers, ordered, strict=True):
        assert [(row.account, row.amount) for row in ver.rows] == [
            (row.account, row.amount) for row in voucher.rows
        ]
        assert f"[{voucher.marker}]" in ver.text
        assert len(ver.text) <= 50 and all(len(row.text) <= 50 for row in ver.rows)


# -- the reader's two paths ----------------------------------------------------------------------------

#: A field cannot end in a backslash: ``\\"`` is a quote (the writer adds a space after one).
FIELD_TEXT = st.text(alphabet=st.sampled_from('abåÖ 1-"\\/'), max_size=12).filter(
    lambda text: not text.endswith("\\")
)
OBJECT = st.tuples(st.integers(1, 30).map(str), st.text(alphabet="AB1 ö", min_size=1, max_size=5))


EMPTY = '""'


def quoted(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1000, 9999),
    st.lists(OBJECT, max_size=3),
    st.integers(-(10**9), 10**9).map(lambda ore: Decimal(ore) / 100),
    st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    FIELD_TEXT,
    st.none() | st.integers(-999, 999).map(lambda n: Decimal(n) / 4),
    FIELD_TEXT,
)
def test_a_row_reads_the_same_however_it_is_written(account, objects, amount, when, text, quantity, sign):
    """Rows of the usual shape take the reader's fast lane, others the general path: both agree."""
    when_text = when.strftime("%Y%m%d") if when else ""
    members = " ".join(f"{dim} {quoted(obj)}" for dim, obj in objects)
    usual = f"#TRANS {account} {{{members}}} {amount} {when_text or EMPTY} {quoted(text)}"
    object_list = ["{", *(quoted(part) for pair in objects for part in pair), "}"]
    unusual = "\t".join(
        ["#trans", quoted(str(account)), *object_list, quoted(str(amount)), quoted(when_text), quoted(text)]
    )
    if quantity is not None or sign:
        usual += f" {quantity if quantity is not None else EMPTY} {quoted(sign)}"
        unusual += f"\t{quoted(str(quantity) if quantity is not None else '')}\t{quoted(sign)}"
    head = '#VER "" "" 20260101\n{\n'
    balance = f"#TRANS 1 {{}} {-amount}\n}}\n"
    rows = [
        read_sie(f"{head}{line}\n{balance}".encode("cp437")).vouchers[0].rows[0] for line in (usual, unusual)
    ]
    assert rows[0] == rows[1]
    assert (rows[0].account, rows[0].amount, rows[0].date, rows[0].text) == (account, amount, when, text)
    assert rows[0].objects == tuple(objects)
    assert rows[0].quantity == quantity and rows[0].sign == sign
