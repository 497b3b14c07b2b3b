"""The fast lane over the file's bytes (``exporters.sie.usual``) against the plain line-by-line path, on
hostile inputs: odd and huge amounts, history rows with quantity and sign, fields holding braces,
backslashes, tabs or an unclosed quote, UTF-8 files that claim PC8, CRLF and LF, vouchers cut by the
pieces the bytes arrive in. Both paths must yield the same items and stop at the same error, on the same
line; where the fast lane may take a voucher, it does (else it would only ever be the plain path)."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporters.sie import SieError, SieReader, SieVoucher, read_sie
from exporters.sie.rows import Rows
from exporters.sie.usual import UsualVoucher, Utf8UsualVoucher, plan
from tests.sie.test_fast_path import assert_same, pieces

pytestmark = pytest.mark.usefixtures("lane")  # the C and the pure-Python fast lane

HEAD = '#FLAGGA 0\n#FORMAT PC8\n#SIETYP 4\n#FNAMN "Bänkbutiken AB"\n'


def _file(vouchers: list[str], newline: str = "\r\n", encoding: str = "cp437") -> bytes:
    return (HEAD + "".join(vouchers)).replace("\n", newline).encode(encoding)


def _voucher(number: int, rows: list[str], text: str = "Z-rapport", day: str = "20260314") -> str:
    return (
        f'#VER "K" "{number}" {day} "{text}" {day} "Dagskassa"\n{{\n'
        + "".join(row + "\n" for row in rows)
        + "}\n"
    )


def _kinds(data: bytes, size: int = 1 << 16) -> list[type]:
    """The classes of the vouchers read before the end or the first error."""
    kinds: list[type] = []
    with contextlib.suppress(SieError):
        kinds += (type(item) for item in SieReader(pieces(data, size)) if isinstance(item, SieVoucher))
    return kinds


def test_history_rows_with_quantity_and_sign_stay_in_the_fast_lane_outside_the_balance():
    rows = [
        '#BTRANS 1910 {} 999.99 20260314 "" "" "Anna Ö"',
        '#RTRANS 1930 {1 "KS1"} 0.05 "" "Swish" 2 "Bo"',
        '#TRANS 1930 {1 "KS1"} 0.05 "" "Swish" 2 "Bo"',
        '#TRANS 3001 {} -0.05 20260314 "Försäljning"',
    ]
    data = _file([_voucher(1, rows), _voucher(2, rows[2:])])
    items = assert_same(data)[0]
    assert _kinds(data) == [UsualVoucher, UsualVoucher]
    voucher = read_sie(data).vouchers[0]
    assert [row.amount for row in voucher.removed] == [Decimal("999.99")]
    assert voucher.removed[0].sign == "Anna Ö" and voucher.added[0].quantity == Decimal("2")
    assert [row.amount for row in voucher.rows] == [Decimal("0.05"), Decimal("-0.05")]
    assert items[-1][8:10] == ((), ()) and items[-2][9][0].account == 1910  # added, removed


def test_an_unbalanced_voucher_beside_history_rows_is_named_on_its_line():
    rows = ['#BTRANS 1910 {} 10.00 20260314 "" "" "Anna"', "#TRANS 1910 {} 10.00", "#TRANS 3001 {} -9.99"]
    data = _file([_voucher(1, [*rows[1:2], "#TRANS 3001 {} -10.00"]), _voucher(2, rows)])
    items, error, _, _ = assert_same(data)
    assert error is not None and error[0] == 10 and "sum to 0.01" in error[1]
    assert len([item for item in items if item[0] == "SieVoucher"]) == 1


def test_odd_and_huge_amounts_read_the_same_and_usual_ones_take_the_fast_lane():
    huge = "9" * 40
    amounts = [
        (["0.05", "-0.05"], True),
        (["00.50", "-0.50"], True),
        (["-0.00", "0.00"], True),
        ([f"{huge}.99", f"-{huge}.99"], True),
        (["1.5", "-1.50"], False),  # one decimal: the plain path's
        (["7", "-7.00"], False),
        (["+1.00", "-1.00"], False),  # an error, on its line
        (["1.001", "-1.001"], False),
    ]
    for (debit, credit), fast in amounts:
        rows = [f'#TRANS 1910 {{}} {debit} 20260314 "a"', f'#TRANS 3001 {{1 "KS1"}} {credit}']
        data = _file([_voucher(1, rows)])
        assert_same(data)
        assert (_kinds(data) == [UsualVoucher]) is fast, (debit, credit)


def test_a_field_with_a_brace_a_backslash_or_a_line_end_leaves_the_other_vouchers_fast():
    good = _voucher(1, ["#TRANS 1910 {} 5.00", '#TRANS 3001 {} -5.00 "" "x"'])
    for text in ("a } b", "a { b", "C:\\SIE\\", 'x \\" y'):
        odd = _voucher(2, ["#TRANS 1910 {} 5.00", f'#TRANS 3001 {{}} -5.00 "" "{text}"'])
        data = _file([good, odd, good])
        assert_same(data)
        assert _kinds(data) == [UsualVoucher, SieVoucher, UsualVoucher], text
    for newline in ("\r\n", "\n"):
        unclosed = _voucher(2, ['#TRANS 1910 {} 5.00 "" "open', '#TRANS 3001 {} -5.00 "" "x"'])
        error = assert_same(_file([good, unclosed, good], newline))[1]
        assert error is not None and error[0] == 12  # the row with the open quote


def test_tabs_and_single_space_fields_read_the_same():
    rows = ['#TRANS 1910 {} 5.00 20260314 "a\tb"', "#TRANS\t3001 {} -5.00"]
    data = _file([_voucher(1, rows), _voucher(2, [*rows[:1], "#TRANS 3001 {} -5.00"])])
    assert_same(data)
    assert _kinds(data) == [SieVoucher, UsualVoucher]  # a TAB inside quotes is a usual text


def test_a_utf8_file_that_claims_pc8_reads_the_same_in_its_own_encoding():
    rows = ['#TRANS 1910 {} 5.00 20260314 "Försäljning åäö"', '#TRANS 3001 {} -5.00 "" "€"']
    vouchers = [_voucher(number, rows, text="Dagskassa Öland") for number in range(1, 40)]
    data = _file(vouchers, encoding="utf-8")
    _, error, encoding, _ = assert_same(data, 500)
    assert error is None and encoding == "utf-8"
    assert set(_kinds(data)) == {Utf8UsualVoucher}
    voucher = read_sie(data).vouchers[0]
    assert voucher.text == "Dagskassa Öland" and voucher.rows[0].text == "Försäljning åäö"
    mixed = data.replace("Försäljning åäö".encode(), "Försäljning åäö".encode("cp437"), 1)
    assert assert_same(mixed, 700)[2] == "mixed"


def test_a_bom_and_vouchers_cut_by_every_piece_size_read_the_same():
    vouchers = [_voucher(number, ["#TRANS 1910 {} 5.00", "#TRANS 3001 {} -5.00"]) for number in range(9)]
    data = b"\xef\xbb\xbf" + _file(vouchers, encoding="utf-8")
    for size in (1, 2, 7, 61, 100, 1 << 16):
        assert assert_same(data, size)[1] is None


_TEXT = st.one_of(
    st.text(st.sampled_from("ab Ö#.-0\t"), max_size=6), st.text(st.sampled_from('a {}\\"'), max_size=3)
)
_ORE = st.one_of(st.integers(-(10**7), 10**7), st.integers(-(10**25), 10**25), st.integers(-99, 99))
_ODD_AMOUNTS = ["0.00", "-0.00", "00.01", "1.5", "7", "+1.00", "1.001", "-0"]


@st.composite
def _row(draw: st.DrawFn, day: str) -> tuple[str, Decimal]:
    """A row and the amount it adds to the balance (0 for an odd amount or a history row)."""
    label = draw(st.sampled_from(["#TRANS", "#TRANS", "#TRANS", "#RTRANS", "#BTRANS"]))
    objects = draw(st.sampled_from(["{}", '{1 "KS1"}', '{1 "KS1" 6 "P"}', '{1 "K}"}', '{"1" "x"}']))
    ore = draw(_ORE)
    amount = f"{'-' if ore < 0 else ''}{abs(ore) // 100}.{abs(ore) % 100:02d}"
    if draw(st.integers(0, 19)) == 0:
        amount, ore = draw(st.sampled_from(_ODD_AMOUNTS)), 0
    when = draw(st.sampled_from([day, day, '""', "20260101"])) if draw(st.integers(0, 49)) else "20260230"
    tail = [when, f'"{draw(_TEXT)}"']
    tail += [draw(st.sampled_from(['""', "2", "-1.5"])), f'"{draw(_TEXT)}"']
    row = " ".join([label, draw(st.sampled_from(["1910", "3001"])), objects, amount])
    row = " ".join([row, *tail[: draw(st.integers(0, 4))]])
    return row, Decimal(ore) / 100 if label == "#TRANS" else Decimal(0)


@st.composite
def _sie_file(draw: st.DrawFn) -> bytes:
    """A file of vouchers in many shapes, mostly balanced, some with hostile fields."""
    vouchers = []
    for number in range(draw(st.integers(1, 6))):
        day = draw(st.sampled_from(["20260314", "20261231", "20260314", "20240229"]))
        rows = draw(st.lists(_row(day), max_size=5))
        lines = [row for row, _ in rows]
        if draw(st.integers(0, 5)):  # most vouchers balance
            lines.append(f"#TRANS 2611 {{}} {-sum(amount for _, amount in rows):.2f}")
        vouchers.append(_voucher(number, lines, text=draw(_TEXT), day=day))
    newline = draw(st.sampled_from(["\r\n", "\n"]))
    return _file(vouchers, newline, draw(st.sampled_from(["cp437", "utf-8"])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sie_file(), st.sampled_from([1 << 16, 37, 200]))
def test_generated_hostile_vouchers_read_the_same_by_both_paths(data, size):
    assert_same(data, size)


def test_a_plan_gives_back_the_lines_as_written_from_any_voucher():
    vouchers = [
        _voucher(1, ["#TRANS 1910 {} 5.00", '#TRANS 3001 {1 "KS1"} -5.00 20260314 "a" 2 "b"']),
        _voucher(2, ['#BTRANS 1910 {} 1.00 "" "" ""', "#TRANS 1910 {} 0.00"]),
        '#VER "K" "3" 20260314\n{\n}\n#OKÄND 1\n',
        _voucher(4, ["#TRANS 1910 {} 5.00", "#TRANS 3001 {} -5.00"]),
    ]
    for newline in ("\r\n", "\n"):
        data = _file(vouchers, newline)
        usual = plan(data, 0, Rows().raw_dates.__getitem__, "cp437")
        assert usual is not None and len(usual.vouchers) == 4
        text = data.decode("cp437")
        assert usual.between(0) + usual.rest(0) == text
        assert (
            all(text.endswith(usual.rest(j)) for j in range(4)) and usual.between(3) == "#OKÄND 1" + newline
        )
