"""How fast the SIE reader is, against merely decoding the same bytes and splitting them into lines.

Generates a type 4E file like a busy store's year (CP437, CRLF, quoted texts with Swedish letters,
object lists, transaction dates, some #RTRANS/#BTRANS) in a temporary directory, then in the same run:

- baseline: the fastest way pure Python has to decode the bytes and split them into lines: blocks read
  whole, decoded (CP437) and split at LF, the last partial line carried to the next block. Each block size
  in ``BLOCK_SIZES`` is timed and the fastest one is the baseline (smaller blocks stay in the CPU cache);
- for information, reading line by line and decoding each line (what the first version measured against);
- reader: ``iter_sie`` over the same file, every voucher parsed and checked to balance, in the lane it
  takes here (the usual vouchers' balance checked by the C accelerator ``exporters.sie._speedups`` when it
  is built, else in pure Python), and for information the same with the pure-Python lane forced;
- for information, the floor of the reader's fast lane: the same blocks as bytes (the fast lane decodes
  nothing it checks), every voucher found and checked by the usual-voucher regular expression and every
  amount taken as whole öre for the balance check, and nothing else (no voucher made, nothing yielded):
  the least the reader does, with pure Python's tools;
- peak memory of the reader (tracemalloc, in a second pass: tracing slows Python down).

Times are CPU time of this process (the machine is shared; wall time would measure the neighbours).
Prints MB/s of each, the reader's ratio to the baseline (the target is at least 0.25; the bench says
whether it is met) and the reader's peak memory (the target is under 100 MB for a 100 MB file).

    .venv/bin/python bench/sie_read.py            # 100 MB
    .venv/bin/python bench/sie_read.py --mb 10    # a quick look
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from functools import partial
from itertools import repeat
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporters.sie import SieVoucher, iter_sie, usual
from exporters.sie.text import Decoder
from exporters.sie.usual import USUAL, balanced

HEADER = """#FLAGGA 0
#PROGRAM "Dagskassa bench" 1.0
#FORMAT PC8
#GEN 20270105
#SIETYP 4
#FNAMN "Bänkbutiken AB"
#ORGNR 556677-8899
#RAR 0 20260101 20261231
#DIM 1 "Kostnadsställe"
#OBJEKT 1 "KS1" "Butiken"
#KONTO 1910 "Kassa"
#KONTO 1580 "Fordringar för kontokort och kuponger"
#KONTO 1930 "Företagskonto"
#KONTO 2611 "Utgående moms 25 %"
#KONTO 2621 "Utgående moms 12 %"
#KONTO 3001 "Försäljning 25 %"
#KONTO 3002 "Försäljning 12 %"
#KONTO 3740 "Öres- och kronutjämning"
#IB 0 1910 10000.00
"""


def _voucher(rng: random.Random, number: int) -> str:
    day = f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    net25, net12 = rng.randint(1000, 900000), rng.randint(1000, 900000)
    vat25, vat12 = net25 // 4, net12 * 12 // 100
    total = net25 + vat25 + net12 + vat12
    card = rng.randint(0, total)
    cash = total - card
    rows = [
        (1910, "{}", cash, "Kontant"),
        (1580, "{}", card, "Kort"),
        (3001, '{1 "KS1"}', -net25, "Försäljning 25 % dryck och mat"),
        (2611, "{}", -vat25, "Utgående moms 25 %"),
        (3002, '{1 "KS1"}', -net12, "Försäljning 12 % livsmedel"),
        (2621, "{}", -vat12, "Utgående moms 12 %"),
    ]
    lines = [f'#VER "K" "{number}" {day} "Z {number} Kassa 1 [dk:0123456789ab]" {day} "Dagskassa"', "{"]
    if number % 50 == 0:
        lines.append(f'#BTRANS 1910 {{}} {cash / 100:.2f} {day} "" "" "Anna Ö"')
    for account, objects, ore, text in rows:
        lines.append(f'#TRANS {account} {objects} {ore / 100:.2f} {day} "{text}"')
    lines.append("}")
    return "\r\n".join(lines) + "\r\n"


def generate(path: Path, megabytes: float) -> int:
    rng = random.Random(42)
    target = int(megabytes * 1_000_000)
    written = 0
    with path.open("wb") as out:
        written += out.write(HEADER.replace("\n", "\r\n").encode("cp437"))
        number = 1
        while written < target:
            chunk = "".join(_voucher(rng, number + i) for i in range(500)).encode("cp437")
            written += out.write(chunk)
            number += 500
    return written


#: Block sizes tried for the baseline; the fastest one counts.
BLOCK_SIZES = (1 << 14, 1 << 16, 1 << 18, 1 << 20)


def line_by_line(path: Path) -> int:
    lines = 0
    with path.open("rb") as stream:
        for raw in stream:
            raw.decode("cp437")
            lines += 1
    return lines


def decode_and_split(path: Path, block_size: int) -> int:
    """Decode the file a block at a time and split it into lines: the least a reader of lines does."""
    lines = 0
    rest = b""
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(block_size), b""):
            data = rest + block if rest else block
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            lines += len(data[:cut].decode("cp437").split("\n")) - 1
    if rest:
        lines += 1
    return lines


def fast_lane_floor(path: Path, check=balanced) -> int:
    """What the reader's fast lane cannot do without: the file's bytes read a block at a time (not
    decoded), split into usual vouchers by the one regular expression that checks every field, and every
    amount taken as whole öre for each voucher's balance check (:func:`exporters.sie.usual.balanced`);
    nothing made, nothing yielded. The ceiling of this way of reading (``check=usual.checked``: with the C
    accelerator when it is built)."""
    vouchers = 0
    with path.open("rb") as stream:
        for _, block in Decoder().blocks(iter(partial(stream.read, 1 << 16), b"")):
            parts = USUAL[b"\r\n"].split(block)
            bodies = parts[7::9]
            if not check(bodies, list(map(bytes.count, bodies, repeat(b"\n"))), parts[8::9]):
                raise AssertionError("a voucher does not balance")
            vouchers += len(bodies)
    return vouchers


def read(path: Path) -> int:
    vouchers = 0
    for item in iter_sie(path):
        if isinstance(item, SieVoucher):
            vouchers += 1
    return vouchers


def read_pure_python(path: Path) -> int:
    """:func:`read` with the C accelerator set aside."""
    built, usual.accelerator = usual.accelerator, None
    try:
        return read(path)
    finally:
        usual.accelerator = built


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=100.0, help="size of the generated file (default 100)")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of each (default 2)")
    args = parser.parse_args()
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory(prefix="sie-bench-") as folder:
        path = Path(folder) / "bench.se"
        size = generate(path, args.mb)
        megabytes = size / 1_000_000
        print(f"file: {megabytes:.1f} MB")

        # Alternate them and keep each one's best round: the machine is shared, and the first pass over
        # a fresh file may still be settling in the page cache.
        best: dict[str, float] = {}

        def timed(name: str, run) -> int:
            started = time.process_time()
            result = run()
            best[name] = min(best.get(name, float("inf")), time.process_time() - started)
            return result

        for _ in range(args.rounds):
            lines = timed("lines", lambda: line_by_line(path))
            for size in BLOCK_SIZES:
                timed(f"{size // 1024} KB", lambda size=size: decode_and_split(path, size))
            vouchers = timed("reader", lambda: read(path))
            if usual.lane() == "C":
                timed("reader, Python", lambda: read_pure_python(path))
            timed("floor", lambda: fast_lane_floor(path))
            if usual.lane() == "C":
                timed("floor, C", lambda: fast_lane_floor(path, usual.checked))
        block = min((name for name in best if name.endswith("KB")), key=best.__getitem__)
        base_seconds, read_seconds = best[block], best["reader"]
        ratio = base_seconds / read_seconds

        def show(label: str, figure: str) -> None:
            print(f"{label:<44} {figure}")

        show(f"baseline: decode {block} blocks + split at LF", f"{megabytes / base_seconds:7.1f} MB/s")
        for name in sorted((name for name in best if name.endswith("KB")), key=best.__getitem__)[1:]:
            show(f"  (decode {name} blocks + split at LF)", f"{megabytes / best[name]:7.1f} MB/s")
        show("  (line by line, decode each line)", f"{megabytes / best['lines']:7.1f} MB/s, {lines} lines")
        show(
            f"SIE reader (iter_sie), {usual.lane()} lane",
            f"{megabytes / read_seconds:7.1f} MB/s, {vouchers} vouchers",
        )
        verdict = "met" if ratio >= 0.25 else "NOT met"
        show("ratio reader / baseline", f"{ratio:7.2f}   (target >= 0.25: {verdict})")
        if "reader, Python" in best:
            python_seconds = best["reader, Python"]
            show(
                "  (SIE reader, pure-Python lane forced)",
                f"{megabytes / python_seconds:7.1f} MB/s, ratio {base_seconds / python_seconds:.2f}",
            )
        else:
            show("  (C accelerator not built: no C lane to show)", "")
        show("ratio reader / line by line", f"{best['lines'] / read_seconds:7.2f}")
        floor = megabytes / best["floor"]
        show(
            "  (fast lane's floor: bytes regex + öre sums)",  # in pure Python
            f"{floor:7.1f} MB/s, ratio {base_seconds / best['floor']:.2f}",
        )

        if "floor, C" in best:
            show(
                "  (the same floor, öre sums in C)",
                f"{megabytes / best['floor, C']:7.1f} MB/s, ratio {base_seconds / best['floor, C']:.2f}",
            )

        tracemalloc.start()
        read(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_start) / 1000
        show("reader peak memory (tracemalloc)", f"{peak / 1_000_000:7.1f} MB   (target < 100 MB)")
        show("process peak RSS growth (ru_maxrss)", f"{rss_growth:7.1f} MB   (the whole run: an upper bound)")


if __name__ == "__main__":
    main()
