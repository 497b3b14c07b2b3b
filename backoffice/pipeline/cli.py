"""``dagskassa worker`` and ``dagskassa scheduler``: the pipeline apart from the web app."""

from __future__ import annotations

import argparse
import signal
import threading


def register(subparsers: argparse._SubParsersAction) -> None:
    worker = subparsers.add_parser(
        "worker", help="post due exports (any number, on any number of machines; PostgreSQL)"
    )
    worker.add_argument("--threads", type=int, default=4, help="worker threads (default 4)")
    worker.set_defaults(handler=worker_command)
    scheduler = subparsers.add_parser(
        "scheduler", help="run the scheduled jobs (one per deployment, chosen by an advisory lock)"
    )
    scheduler.set_defaults(handler=scheduler_command)


def _run(args: argparse.Namespace, workers: int, scheduler: bool) -> int:
    from backoffice.db import make_engine
    from backoffice.pipeline.service import Pipeline

    settings = args.settings
    pipeline = Pipeline(settings, make_engine(settings.database.url))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if workers:
        pipeline.start_workers(workers)
    if scheduler:
        while not stop.is_set() and not pipeline.start_scheduler():
            stop.wait(30)  # another scheduler leads; take over when it goes
    print("ready", flush=True)
    stop.wait()
    pipeline.stop()
    return 0


def worker_command(args: argparse.Namespace) -> int:
    return _run(args, args.threads, scheduler=False)


def scheduler_command(args: argparse.Namespace) -> int:
    return _run(args, 0, scheduler=True)
