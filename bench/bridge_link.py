"""Benchmark of the DKL/1 register link: frames per second and the time from a frame received to its ACK.

The register is ``dagskassa register-sim`` in its own process on a pseudo-terminal, selling as fast as the
ACKs come (one message at a time, as a register does); the bridge's RegisterLink runs here and stores each
frame in a spool on disk (SQLite, WAL, synchronous=FULL: one fsync per frame) before it ACKs. Prints the
figures; the aim is p99 < 20 ms from the frame's line end read to the ACK written.

    .venv/bin/python bench/bridge_link.py [--days 4] [--sales 120] [--spool-dir /var/tmp]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import serial  # noqa: E402

from pos_bridge.bridge import open_port  # noqa: E402
from pos_bridge.link import RegisterLink  # noqa: E402
from pos_bridge.spool import Spool  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(days: int, sales: int, spool_dir: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=spool_dir) as folder:
        path_file = Path(folder) / "register.path"
        env = {key: value for key, value in os.environ.items() if not key.startswith("DAGSKASSA_")}
        register = subprocess.Popen(
            [
                *(sys.executable, "-m", "config.cli", "register-sim", "--path-file", str(path_file)),
                *("--days", str(days), "--sales", str(sales), "--speed", "0"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        while not path_file.exists():
            time.sleep(0.01)
        port = open_port(path_file.read_text().strip(), 115200, timeout=0.05)
        spool = Spool(Path(folder) / "spool.sqlite")
        times: list[tuple[float, float]] = []
        stop = threading.Event()
        link = RegisterLink(port, spool, on_acked=lambda got, acked: times.append((got, acked)))
        watcher = threading.Thread(target=lambda: (register.wait(), stop.set()), daemon=True)
        watcher.start()
        with contextlib.suppress(serial.SerialException, OSError):  # the register closed its line: done
            link.serve(stop)
        port.close()
        spool.close()
    link_times = [acked - got for got, acked in times]
    elapsed = times[-1][1] - times[0][0]
    return {
        "frames": len(times),
        "seconds": elapsed,
        "frames_per_second": len(times) / elapsed,
        "ack_p50_ms": percentile(link_times, 0.50) * 1000,
        "ack_p99_ms": percentile(link_times, 0.99) * 1000,
        "ack_max_ms": max(link_times) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=4, help="days the register sells and closes (default 4)")
    parser.add_argument("--sales", type=int, default=120, help="sales per day (default 120)")
    parser.add_argument("--spool-dir", help="where the spool file goes (default: the system temp folder)")
    args = parser.parse_args()
    figures = run(args.days, args.sales, args.spool_dir)
    print(
        f"DKL/1 link: {figures['frames']} frames in {figures['seconds']:.2f} s, each stored (fsync) before its ACK"
    )
    print(f"  frames per second           {figures['frames_per_second']:8.1f}")
    print(f"  received -> ACK sent  p50   {figures['ack_p50_ms']:8.2f} ms")
    print(f"  received -> ACK sent  p99   {figures['ack_p99_ms']:8.2f} ms   (aim: < 20 ms)")
    print(f"  received -> ACK sent  max   {figures['ack_max_ms']:8.2f} ms")
    return 0 if figures["ack_p99_ms"] < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
