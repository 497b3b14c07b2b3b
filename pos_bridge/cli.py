"""``dagskassa bridge`` (and ``bridge enroll``, ``bridge status``), ``dagskassa register-sim`` and
``dagskassa printer-sim``. Heavy imports happen inside the handlers."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

#: Test hook, read by the entry point only: hold the bridge at a point of its work (``stored:z_report``:
#: spooled, not ACKed; ``uploaded``: the BackOffice answered, not marked sent) and write that point's name
#: to POS_BRIDGE_HOLD_FILE, so a crash test can kill it exactly there.
HOLD_AT = "POS_BRIDGE_HOLD_AT"
HOLD_FILE = "POS_BRIDGE_HOLD_FILE"


def register(subparsers: argparse._SubParsersAction) -> None:
    bridge = subparsers.add_parser("bridge", help="run the POS bridge: register link, printer, uploader")
    bridge.set_defaults(handler=run_bridge)
    actions = bridge.add_subparsers(dest="bridge_action", metavar="ACTION")
    enroll = actions.add_parser("enroll", help="enroll this bridge with a one-time code from the BackOffice")
    enroll.add_argument("--code", required=True, help="the one-time enrollment code")
    enroll.add_argument("--register-id", help="kassabeteckning (default: from the register's hello)")
    enroll.add_argument("--control-unit-id", help="control unit's number (default: from the hello)")
    enroll.set_defaults(handler=run_enroll)
    status = actions.add_parser("status", help="print the bridge's status file")
    status.set_defaults(handler=run_status)

    sim = subparsers.add_parser("register-sim", help="a simulated cash register on a pseudo-terminal")
    sim.add_argument("--days", type=int, default=1, help="days to sell and close (default 1)")
    sim.add_argument("--sales", type=int, default=80, help="sales per day (default 80)")
    sim.add_argument("--speed", type=float, default=20.0, help="messages per second, 0 = flat out")
    sim.add_argument("--seed", type=int, default=1, help="random seed of the day's sales")
    sim.add_argument("--start-date", default="2026-11-20", help="first business date, YYYY-MM-DD")
    sim.add_argument("--first-z", type=int, default=1, help="Z number of the first day")
    sim.add_argument("--url", help="talk over this serial URL instead of a new pseudo-terminal")
    sim.add_argument(
        "--print", action="store_true", help="a register that only prints: ESC/POS receipts and Z-dagrapport"
    )
    sim.add_argument(
        "--start-delay",
        type=float,
        default=0.0,
        help="seconds to wait before the first sale (a printing register does not resend what nobody read)",
    )
    sim.add_argument("--path-file", help="also write the pseudo-terminal's path to this file")
    sim.add_argument(
        "--stay",
        action="store_true",
        help="keep the register's line open after the last day, until stopped (as a real register does)",
    )
    sim.set_defaults(handler=run_register_sim)

    printer = subparsers.add_parser("printer-sim", help="a simulated ESC/POS printer on a pseudo-terminal")
    printer.add_argument("--paper", choices=("ok", "near_end", "out"), default="ok")
    printer.add_argument("--cover-open", action="store_true")
    printer.add_argument("--offline", action="store_true")
    printer.add_argument("--silent", action="store_true", help="answer no status query")
    printer.add_argument(
        "--error", choices=("cutter", "unrecoverable", "recoverable"), help="report an error"
    )
    printer.add_argument("--output", help="append what it prints to this file (default: standard output)")
    printer.add_argument("--path-file", help="also write the pseudo-terminal's path to this file")
    printer.set_defaults(handler=run_printer_sim)


def _hold_checkpoint():
    point, marker = os.environ.get(HOLD_AT), os.environ.get(HOLD_FILE)
    if not point or not marker:
        from pos_bridge.link import no_checkpoint

        return no_checkpoint

    def checkpoint(reached: str) -> None:
        if reached == point:
            Path(marker).write_text(reached)
            while True:
                time.sleep(3600)

    return checkpoint


def _wait_for_signal() -> threading.Event:
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    return stop


def run_bridge(args: argparse.Namespace) -> int:
    from pos_bridge.bridge import Bridge

    stop = _wait_for_signal()
    bridge = Bridge(args.settings.bridge, checkpoint=_hold_checkpoint()).start()
    while not stop.wait(0.5):
        pass
    bridge.close()
    return 0


def run_enroll(args: argparse.Namespace) -> int:
    import httpx

    from config.settings import ensure_parent_dir
    from exporters.core import DagskassaError
    from pos_bridge.spool import Spool
    from pos_bridge.uploader import enroll

    settings = args.settings.bridge
    ensure_parent_dir(settings.spool_path)
    spool = Spool(settings.spool_path)
    hello = spool.last_hello() or {}
    spool.close()
    register_id = args.register_id or hello.get("register_id")
    unit = args.control_unit_id or hello.get("control_unit_id")
    if not register_id or not unit:
        print(
            "dagskassa: no hello from the register yet; give --register-id and --control-unit-id",
            file=sys.stderr,
        )
        return 2
    with httpx.Client(base_url=settings.backoffice_url, timeout=15.0) as client:
        try:
            token = enroll(client, args.code, register_id, unit, settings.token_path)
        except DagskassaError as exc:
            print(f"dagskassa: {exc}", file=sys.stderr)
            return 1
    print(f"enrolled as register {token.register_id}; token kept in {settings.token_path}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    path = Path(args.settings.bridge.status_path)
    if not path.exists():
        print(f"dagskassa: no status file at {path}: is the bridge running?", file=sys.stderr)
        return 1
    status = json.loads(path.read_text("utf-8"))
    print(json.dumps(status, indent=2, ensure_ascii=False))
    return 1 if status.get("alert") else 0


def run_register_sim(args: argparse.Namespace) -> int:
    import random
    from datetime import date, timedelta

    from pos_bridge.ptys import PtyEnd
    from pos_bridge.register_sim import RegisterClient, Shop, sell_day

    if args.url:
        from pos_bridge.bridge import open_port

        port = open_port(args.url, args.settings.bridge.baudrate, timeout=0.1)
    else:
        port = PtyEnd()
        _announce(port.path, args.path_file)
    shop = Shop(next_z=args.first_z)
    rng = random.Random(args.seed)
    client = RegisterClient(port)
    pause = 1 / args.speed if args.speed > 0 else 0
    time.sleep(args.start_delay)
    if not args.print:
        client.send(shop.hello(client.session))
    for offset in range(args.days):
        business_date = date.fromisoformat(args.start_date) + timedelta(days=offset)
        for message in sell_day(shop, business_date, args.sales, rng):
            if args.print:
                port.write(_printout(shop, message))
                result = "printed"
            else:
                result = client.send(message).get("z_report")
            if message["type"] == "z_report":
                print(f"Z {message['z_number']} {business_date}: {result}", flush=True)
            time.sleep(pause)
    if args.stay:
        _wait_for_signal().wait()
    port.close()
    return 0


def _printout(shop, message: dict) -> bytes:
    from pos_bridge import dkl1
    from pos_bridge.printouts import render_receipt, render_z_dagrapport

    if message["type"] == "receipt":
        return render_receipt(shop, message)
    identity = dkl1.Identity.from_hello(shop.hello("print"))
    return render_z_dagrapport(dkl1.z_report_json(identity, message))


def run_printer_sim(args: argparse.Namespace) -> int:
    from pos_bridge.printer_sim import PrinterSim

    printer = PrinterSim()
    printer.paper, printer.cover_open = args.paper, args.cover_open
    printer.offline, printer.silent, printer.error = args.offline, args.silent, args.error
    _announce(printer.path, args.path_file)
    output = open(args.output, "a", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    printer.start()
    stop = _wait_for_signal()
    written = 0
    while not stop.wait(0.2):
        text = printer.text
        output.write(text[written:])
        output.flush()
        written = len(text)
    printer.stop()
    if output is not sys.stdout:
        output.close()
    return 0


def _announce(path: str, path_file: str | None) -> None:
    print(path, flush=True)
    if path_file:
        Path(path_file).write_text(path + "\n")
