"""The reader's fast lanes against its plain line-by-line path (``SieReader(fast=False)``): over generated
files of many shapes and over mutated ones, both yield the same items (rows made) and stop at the same
error, on the same line; and a voucher from the fast lane behaves as a plain :class:`SieVoucher`."""

from __future__ import annotations

import copy
import pickle
import random
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporters.sie import SieError, SieReader, SieVoucher
from exporters.sie.usual import UsualVoucher
from tests.sie.conftest import SIE_FILES

pytestmark = pytest.mark.usefixtures("lane")  # the C and the pure-Python fast lane

DIFFERENTIAL = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ODD = 0.02  # how often a row takes an unusual (but valid) shape of each kind
TEXTS = ["Kontant", "Kort", "Försäljning 25 %", "", "a } b", "#TRANS 1 {} 1.00", 'x \\" y', "C:\\SIE\\"]


def _rows(rng: random.Random, day: str, ore: int, faults: float) -> list[str]:
    """A #TRANS row of ``ore`` (perhaps with an #RTRANS or #BTRANS before it), in one of many shapes."""

    def odd() -> bool:
        return rng.random() < ODD

    objects = rng.choice(["{}", '{1 "KS1"}', '{1 "KS1" 6 "P7"}', '{1 ""}'])
    if odd():
        objects = rng.choice(['{"1" "KS1"}', "{ }", '{1 "K}"}'])
    if rng.random() < faults:
        objects = rng.choice(["{1}", '{1 "KS1" 6}'])
    amount = f"{ore / 100:.2f}"
    if ore % 100 == 0 and odd():
        amount = str(ore // 100)
    elif ore % 10 == 0 and odd():
        amount = f"{ore / 100:.1f}"
    if rng.random() < faults:
        amount = rng.choice(["1.234", "+1.00", "1,00"])
    label = rng.choice(["#trans", "  #TRANS"]) if odd() else "#TRANS"
    fields = [label, str(rng.choice([1910, 3001])), objects, amount]
    if rng.random() < 0.9:
        fields.append(rng.choice([day, day, '""']) if not odd() else "20260101")
        if rng.random() < faults:
            fields[-1] = "20261399"
        if rng.random() < 0.9:
            fields.append('"' + rng.choice(TEXTS[4:] if odd() else TEXTS[:4]) + '"')
            if odd():
                fields += ['""', '"Anna"']
    row = ("\t" if odd() else " ").join(fields)
    history = rng.choice(["#RTRANS", "#BTRANS"]) if odd() else ""
    return [f"{history} 1910 {{}} 5.00", row] if history else [row]


def _voucher(rng: random.Random, number: int, faults: float) -> list[str]:
    day = f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28 if rng.random() > faults else 31):02d}"
    head = ["#VER", '"K"', f'"{number}"', day]
    for extra in ('"Z rapport"', rng.choice([day, '""']), '"Dagskassa"'):
        if rng.random() < 0.8:
            head.append(extra)
        else:
            break
    if rng.random() < 0.05:
        head[1] = "K"
    amounts = [rng.randint(-(10**7), 10**7) for _ in range(rng.randint(0, 7))]
    amounts.append(-sum(amounts) + (1 if rng.random() < faults else 0))
    lines = [" ".join(head), "{"]
    lines += [line for ore in amounts for line in _rows(rng, day, ore, faults)]
    lines.append("}")
    if rng.random() < faults:
        lines.remove("{" if rng.random() < 0.5 else "}")
    return lines


def generated(seed: int, vouchers: int = 40, faults: float = 0.0) -> bytes:
    """A SIE file of mostly usual vouchers with every kind of exception sprinkled in: vouchers and rows
    of other shapes, and with ``faults`` > 0 errors (each kind with about that probability)."""
    rng = random.Random(seed)
    lines = ["#FLAGGA 0", "#SIETYP 4", '#FNAMN "Bänkbutiken AB"', '#KONTO 1910 "Kassa"']
    if rng.random() < 0.2:
        lines.insert(1, "#KSUMMA")
    for number in range(1, vouchers + 1):
        lines += _voucher(rng, number, faults)
        if rng.random() < 0.05:
            lines.append(rng.choice(["#OKÄND 1 2", "", "#IB 0 1910 5.00", "#KONTO 1930 Bank"]))
    newline = "\r\n" if rng.random() < 0.7 else "\n"
    if lines[1] == "#KSUMMA":
        lines.append("#KSUMMA 0")
    data = (newline.join(lines) + newline).encode("cp437", errors="replace")
    if lines[1] == "#KSUMMA":  # the checksum the plain path computes, when nothing else is wrong
        error = outcome(data, False)[1]
        computed = re.search(r"computed ([0-9]+)", error[1]) if error else None
        if computed:
            data = data.replace(b"#KSUMMA 0", b"#KSUMMA " + computed[1].encode())
    return data


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)] or [b""]


def outcome(data: bytes, fast: bool, size: int = 1 << 16) -> tuple:
    reader = SieReader(pieces(data, size), fast=fast)
    items: list[tuple] = []
    error = None
    try:
        for item in reader:
            items.append((type(item).__name__ if not isinstance(item, SieVoucher) else "SieVoucher", *item))
    except SieError as exc:
        error = (exc.line, str(exc))
    return items, error, reader.encoding, reader.checksum


def assert_same(data: bytes, size: int = 1 << 16) -> tuple:
    fast = outcome(data, True, size)
    assert fast == outcome(data, False, size)
    return fast


def test_generated_files_read_the_same_by_both_paths_and_mostly_by_the_fast_one():
    used = 0
    for seed in range(20):
        data = generated(seed)
        for size in (1 << 16, 97, 1000):
            assert assert_same(data, size)[1] is None
        used += sum(type(item) is UsualVoucher for item in SieReader([data]))
        for faulty in range(3):
            assert_same(generated(seed * 10 + faulty, faults=0.01), 1 << 16)
    assert used > 300  # the fast lane took most vouchers


def test_an_unbalanced_usual_voucher_is_named_with_its_line_after_the_ones_before():
    rows = "#TRANS 1910 {} 100.00 20260301\r\n#TRANS 3001 {} -100.00 20260301\r\n"
    good = f'#VER "K" "1" 20260301 "a" 20260301\r\n{{\r\n{rows}}}\r\n'
    bad = good.replace("-100.00", "-100.01").replace('"1"', '"2"')
    data = ("#FLAGGA 0\r\n" + good + good + bad + good).encode()
    items, error, _, _ = assert_same(data)
    assert len(items) == 3 and error is not None  # #FLAGGA and two vouchers
    assert error[0] == 12 and "sum to -0.01" in error[1]


@DIFFERENTIAL
@given(st.integers(0, 10**6), st.data())
def test_mutated_files_read_the_same_by_both_paths(seed, data):
    original = generated(seed, 12, 0.005) if data.draw(st.booleans(), label="generated") else None
    if original is None:
        original = data.draw(st.sampled_from([path.read_bytes() for path in SIE_FILES]), label="fixture")
    content = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        where = data.draw(st.integers(0, max(len(content) - 1, 0)), label="where")
        kind = data.draw(st.sampled_from(["flip", "insert", "delete"]), label="kind")
        if kind == "flip" and content:
            content[where] = data.draw(st.sampled_from(b'#{}" \t\r\n\\-.0123456789KT\x94'), label="byte")
        elif kind == "insert":
            content[where:where] = data.draw(st.binary(min_size=1, max_size=8), label="bytes")
        else:
            del content[where : where + data.draw(st.integers(1, 30), label="length")]
    assert_same(bytes(content), data.draw(st.sampled_from([1 << 16, 61, 500]), label="piece size"))


def test_a_usual_voucher_behaves_as_the_plain_one():
    data = generated(3)
    fast = [item for item in SieReader([data]) if isinstance(item, SieVoucher)]
    plain = [item for item in SieReader([data], fast=False) if isinstance(item, SieVoucher)]
    usual = next(item for item in fast if type(item) is UsualVoucher)
    twin = plain[fast.index(usual)]
    assert type(twin) is SieVoucher
    assert usual == twin and twin == usual and hash(usual) == hash(twin)
    assert not usual != twin  # noqa: SIM202 - the operator itself is under test
    assert repr(usual) == repr(twin) and tuple(usual) == tuple(twin) and usual[6] == twin.rows
    assert usual.rows == twin.rows and all(isinstance(row.amount, Decimal) for row in usual.rows)
    assert usual.total == twin.total == 0 and usual.to_dict() == twin.to_dict()
    assert usual._asdict() == twin._asdict() and usual._replace(text="x") == twin._replace(text="x")
    assert copy.copy(usual) == twin and type(usual)._make(tuple(twin)) == twin
    assert pickle.loads(pickle.dumps(usual)) == twin and type(pickle.loads(pickle.dumps(usual))) is SieVoucher
