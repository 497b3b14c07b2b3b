"""Benchmark of the DKL/1 register link: frames per second and the time from a frame received to its ACK.

A simulated register on a pseudo-terminal sends receipts (and a z_report per day) one at a time, as a
register does, waiting for each ACK; the bridge's RegisterLink stores each in a spool on disk (SQLite,
WAL, synchronous=FULL: one fsync per frame) before it ACKs. Prints the figures; the aim is p99 < 20 ms.

    .venv/bin/python bench/bridge_link.py [--frames 500] [--spool-dir /var/tmp]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pos_bridge.bridge import open_port
from pos_bridge.link import RegisterLink
from pos_bridge.ptys import PtyEnd
from pos_bridge.register_sim import RegisterClient, Shop, sell_day
from pos_bridge.spool import Spool


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(frames: int, spool_dir: str | None) -> dict[str, float]:
    shop = Shop()
    messages: list[dict] = []
    day = date(2026, 11, 20)
    while len(messages) < frames:
        messages += sell_day(shop, day, 120, random.Random(len(messages)))
        day += timedelta(days=1)
    messages = messages[:frames]

    with tempfile.TemporaryDirectory(dir=spool_dir) as folder:
        register = PtyEnd()
        port = open_port(register.path, 115200, timeout=0.05)
        spool_path = Path(folder) / "spool.sqlite"
        link_times: list[float] = []
        stop = threading.Event()

        def serve() -> None:
            spool = Spool(spool_path)
            link = RegisterLink(port, spool, on_acked=lambda got, acked: link_times.append(acked - got))
            link.serve(stop)
            spool.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        client = RegisterClient(register, ack_timeout=2.0)
        client.send(shop.hello(client.session))
        link_times.clear()
        round_trips = []
        started = time.perf_counter()
        for message in messages:
            sent = time.perf_counter()
            client.send(message)
            round_trips.append(time.perf_counter() - sent)
        elapsed = time.perf_counter() - started
        stop.set()
        thread.join(timeout=5)
        port.close()
        register.close()
        bytes_per_frame = statistics.mean(len(str(m)) for m in messages)
    return {
        "frames": len(messages),
        "seconds": elapsed,
        "frames_per_second": len(messages) / elapsed,
        "ack_p50_ms": percentile(link_times, 0.50) * 1000,
        "ack_p99_ms": percentile(link_times, 0.99) * 1000,
        "ack_max_ms": max(link_times) * 1000,
        "round_trip_p99_ms": percentile(round_trips, 0.99) * 1000,
        "resends": len(client.naks),
        "bytes_per_frame": bytes_per_frame,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=500, help="frames to send (default 500)")
    parser.add_argument("--spool-dir", help="where the spool file goes (default: the system temp folder)")
    args = parser.parse_args()
    figures = run(args.frames, args.spool_dir)
    print(
        f"DKL/1 link: {figures['frames']} frames (~{figures['bytes_per_frame']:.0f} bytes each) in {figures['seconds']:.2f} s"
    )
    print(f"  frames per second           {figures['frames_per_second']:8.1f}")
    print(f"  received -> ACK sent  p50   {figures['ack_p50_ms']:8.2f} ms")
    print(f"  received -> ACK sent  p99   {figures['ack_p99_ms']:8.2f} ms   (aim: < 20 ms)")
    print(f"  received -> ACK sent  max   {figures['ack_max_ms']:8.2f} ms")
    print(f"  register round trip   p99   {figures['round_trip_p99_ms']:8.2f} ms")
    print(f"  NAKs                        {figures['resends']:8d}")
    return 0 if figures["ack_p99_ms"] < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
