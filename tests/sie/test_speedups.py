"""The C accelerator of the fast lane (``exporters.sie._speedups.all_balanced``) on its own: hostile bytes
get only its documented answers (True or None, a TypeError for what is not a list of bytes), exactly
those a reference in Python gives (a regular expression per row, big integers); and on what the
usual-voucher pattern really hands it, it says yes only where the pure-Python check of record does, and
does say yes where that check does (amounts of up to 16 digits before the point)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from exporters.sie import usual
from tests.sie.test_bytes_lane import _sie_file

speedups = pytest.importorskip("exporters.sie._speedups", reason="the C accelerator is not built here")
HOSTILE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: A row as the C function reads it (see the comment at the top of _speedups.c).
_FIELD = rb'"[^"\\{}\n]*"'
_ROW = re.compile(
    rb"#(TRANS|RTRANS|BTRANS) (?:[^\"}\n]|" + _FIELD + rb")*\} (-?)([0-9]{1,16})\.([0-9]{2})(?=[ \r]|\Z)"
    rb"(?:[^\"\n]|" + _FIELD + rb")*\Z"
)
_INT64 = range(-(2**63), 2**63)


def reference(bodies: list[bytes]) -> bool | None:
    """What ``all_balanced`` answers, in Python."""
    for body in bodies:
        if not body.startswith(b"\n") or not body.endswith(b"\n"):
            return None
        total = 0
        for row in body[1:-1].split(b"\n") if len(body) > 1 else []:
            match = _ROW.match(row)
            if match is None:
                return None
            label, sign, whole, cents = match.groups()
            if label == b"TRANS":
                total += int(sign + whole + cents)
                if total not in _INT64:
                    return None
        if total != 0:
            return None
    return True


_TOKENS = [
    b"#TRANS ",
    b"#RTRANS ",
    b"#BTRANS ",
    b"#TRANS",
    b"#T",
    b"#XTRANS ",
    b"1910 ",
    b"{}",
    b"{",
    b"}",
    b"} ",
    b'"',
    b'"KS1"',
    b"\\",
    b"\n",
    b"\r",
    b"\r\n",
    b" ",
    b"-",
    b".",
    b"0",
    b"5",
    b"12.50",
    b"-12.50",
    b"9" * 17,
    b"9" * 40,
    b"\x00",
    b"\xff",
    b"\t",
]
_BODY = st.one_of(
    st.binary(max_size=40),
    st.lists(st.sampled_from(_TOKENS), max_size=30).map(b"".join),
    st.lists(st.sampled_from(_TOKENS), max_size=30).map(lambda tokens: b"\n" + b"".join(tokens) + b"\n"),
)


@st.composite
def _usual_body(draw: st.DrawFn) -> bytes:
    """The rows' bytes of a voucher of the usual shape, mostly balanced, perhaps cut or with a byte
    changed."""
    newline = draw(st.sampled_from([b"\r\n", b"\n"]))
    amounts = draw(st.lists(st.integers(-(10**18), 10**18), max_size=5))
    amounts.append(-sum(amounts) if draw(st.booleans()) else draw(st.integers(-(10**4), 10**4)))
    rows = []
    for ore in amounts:
        label = draw(st.sampled_from([b"#TRANS", b"#TRANS", b"#RTRANS", b"#BTRANS"]))
        objects = draw(st.sampled_from([b"{}", b'{1 "KS1"}', b'{1 "K}"}', b'{1 "a\\"}']))
        tail = draw(st.sampled_from([b"", b" 20260314", b' "" "text \xe5"', b' "" "a{b"', b' "" "open']))
        amount = b"%s%d.%02d" % (b"-" if ore < 0 else b"", abs(ore) // 100, abs(ore) % 100)
        rows.append(b"%s 1910 %s %s%s%s" % (label, objects, amount, tail, newline))
    body = b"\n" + b"".join(rows)
    cut = draw(st.integers(0, len(body)))
    if draw(st.integers(0, 3)) == 0:
        body = body[:cut]
    elif draw(st.integers(0, 3)) == 0 and body:
        body = body[:cut] + bytes([draw(st.integers(0, 255))]) + body[cut + 1 :]
    return body


@HOSTILE
@given(st.lists(st.one_of(_BODY, _usual_body()), max_size=4))
@example([])
@example([b""])
@example([b"\n"])
@example([b"\n#TRANS 1 {} 0.00"])  # the buffer ends before the row's end
@example([b"\n#TRANS 1 {} 0.0"])  # ... in the decimals
@example([b"\n#TRANS 1 {} " + b"9" * 16 + b".99\n#TRANS 1 {} -" + b"9" * 16 + b".99\n"])
@example([b"\n#TRANS 1 {} " + b"9" * 17 + b".99\n#TRANS 1 {} -" + b"9" * 17 + b".99\n"])
@example([b"\n" + b"#TRANS 1 {} 9999999999999999.99\n" * 10 + b"#TRANS 1 {} -99999999999999999.90\n"])
@example([b"\n" + b"#TRANS 1 {} 9999999999999999.99\n" * 18 + b"#TRANS 1 {} 4467440737095516.34\n"])  # 2**64
@example([b"\n#TRANS 1 {\x00} 1.00\x00\n#TRANS 1 {} -1.00\n"])
def test_hostile_bytes_get_the_documented_answer(bodies):
    assert speedups.all_balanced(bodies) is reference(bodies)


def test_it_says_yes_to_usual_vouchers_that_balance_and_no_more():
    rows = b'\n#TRANS 1910 {1 "KS1"} 12.50 20260314 "Kassa \xe5"\r\n#BTRANS 1 {} 9.00\r\n#TRANS 3001 {} -12.50\r\n'
    assert speedups.all_balanced([rows, b"\n", rows]) is True
    assert speedups.all_balanced([rows, rows.replace(b"-12.50", b"-12.51")]) is None
    assert speedups.all_balanced([rows.replace(b"Kassa", b"Ka{ssa")]) is None
    assert speedups.all_balanced([rows[:-1]]) is None
    assert speedups.all_balanced([]) is True


@pytest.mark.parametrize("bodies", [(b"\n",), [b"\n", "\n"], [bytearray(b"\n")], b"\n", None])
def test_anything_but_a_list_of_bytes_is_a_type_error(bodies):
    with pytest.raises(TypeError, match="list of bytes"):
        speedups.all_balanced(bodies)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sie_file())
def test_on_usual_vouchers_it_agrees_with_the_check_of_record(data):
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    parts = usual.USUAL[newline].split(data)
    bodies = parts[7::9]
    lines = [body.count(b"\n") for body in bodies]
    of_record = usual.balanced(bodies, lines, parts[8::9])
    fast = speedups.all_balanced(bodies)
    assert fast is None or of_record is True
    amounts = re.findall(rb"\} -?([0-9]+)\.[0-9]{2}", b"".join(bodies))
    if of_record is True and all(len(whole) <= 16 for whole in amounts):
        assert fast is True
    assert usual.checked(bodies, lines, parts[8::9]) is of_record


def test_the_lane_can_be_forced_to_pure_python(monkeypatch):
    assert usual.lane() == "C"
    monkeypatch.setattr(usual, "accelerator", None)
    assert usual.lane() == "Python"
