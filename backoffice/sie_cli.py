"""``dagskassa store-sie``: the SIE page's two actions for a store, from the command line.

``export`` writes the vouchers of a store's days as a SIE 4I file and claims those days for the SIE channel
(refused, listing the days, when any was posted through an API); ``check`` lists the #VER of a SIE file
that book days Dagskassa already posted for the store. Exit codes: 0 done (``check``: no duplicates), 1
``check`` found duplicates, 2 refused or wrong input.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("store-sie", help="a BackOffice store's SIE export and SIE file check")
    actions = group.add_subparsers(dest="store_sie_command", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        help="write a store's days as a SIE 4I file (the days are then booked through SIE only)",
        description="Write the vouchers of the store's Z-reports from --from to --to as a SIE 4I file, "
        "and claim those days for the SIE channel. Days already posted through an API or marked as booked "
        "by hand are refused.",
    )
    export.add_argument("--store", required=True, type=int, metavar="ID")
    export.add_argument("--from", dest="start", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    export.add_argument("--to", dest="end", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    export.add_argument("--out", required=True, type=Path, metavar="FILE.se")
    export.add_argument("--checksum", action="store_true", help="add a #KSUMMA")
    export.set_defaults(handler=export_command)
    check = actions.add_parser(
        "check",
        help="list the vouchers of a SIE file that book days already posted for the store",
        description="Before importing a SIE file: each #VER that duplicates a day Dagskassa posted for "
        "the store (exact or probable match, with the evidence). Exits 1 when there is any.",
    )
    check.add_argument("--store", required=True, type=int, metavar="ID")
    check.add_argument("file", type=Path, metavar="FILE")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(handler=check_command)


def _fail(message: str) -> int:
    print(f"dagskassa: {message}", file=sys.stderr)
    return 2


def _store(session, store_id: int):
    from backoffice.models import Store

    return session.get(Store, store_id)


def export_command(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from backoffice.cli import _engine
    from backoffice.services import sie_files
    from exporters.core.errors import FixData

    with Session(_engine(args), expire_on_commit=False) as session:
        store = _store(session, args.store)
        if store is None:
            return _fail(f"there is no store {args.store}")
        try:
            days = sie_files.day_range(args.start, args.end)
            content, present = sie_files.export_sie(
                session, store, None, days, generated=date.today(), checksum=args.checksum
            )
            args.out.write_bytes(content)
        except FixData as exc:
            return _fail(f"{exc.message} — {exc.fix}")
        except OSError as exc:
            return _fail(f"cannot write {args.out}: {exc.strerror}")
        session.commit()
    print(
        f"wrote {len(present)} day(s) of {store.name} to {args.out}; they are booked through SIE from now on"
    )
    return 0


def check_command(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from backoffice.cli import _engine
    from backoffice.services import sie_files
    from exporters.sie import SieError

    with Session(_engine(args), expire_on_commit=False) as session:
        store = _store(session, args.store)
        if store is None:
            return _fail(f"there is no store {args.store}")
        try:
            with args.file.open("rb") as stream:
                report = sie_files.check_sie_upload(session, store, stream)
        except SieError as exc:
            return _fail(f"{args.file}: {exc}")
        except OSError as exc:
            return _fail(f"cannot read {args.file}: {exc.strerror}")
    if args.format == "json":
        print(json.dumps({"file": str(args.file), **report.to_dict()}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(report.lines(str(args.file))))
    return 1 if report.duplicates or report.other_company else 0
