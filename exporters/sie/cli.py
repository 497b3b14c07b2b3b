"""``dagskassa sie``: read a SIE file, check it against what Dagskassa posted, write the SIE export.

Exit codes: 0 done (``check``: no duplicates), 1 ``check`` found duplicates, 2 a file or its data is
wrong (the message names the file and, for SIE files, the line).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    sie = subparsers.add_parser("sie", help="read, check and write SIE 4 files")
    actions = sie.add_subparsers(dest="sie_command", metavar="ACTION", required=True)

    read = actions.add_parser(
        "read",
        help="print what a SIE file holds",
        description="Read a SIE 4 file (types 1-4, 4E, 4I; CP437 or UTF-8): company, accounts and "
        "vouchers with their rows. Every voucher is checked to balance and a #KSUMMA is verified; "
        "an error names the line and exits 2.",
    )
    read.add_argument("file", type=Path, metavar="FILE")
    read.add_argument("--format", choices=("text", "json"), default="text")
    read.set_defaults(handler=read_command)

    check = actions.add_parser(
        "check",
        help="list the vouchers of a SIE file that book days Dagskassa already posted",
        description="Before importing a SIE file, list each #VER that duplicates a voucher Dagskassa "
        "posted: exact (same date and account/amount pairs) or probable (same date, output VAT and "
        "sales totals). POSTED.json is a list of vouchers as `dagskassa voucher preview --format json` "
        'prints them, with "transaction_date" (and optionally "series", "number", "marker"). '
        "Exits 1 when duplicates are found (or the file is another company's).",
    )
    check.add_argument("file", type=Path, metavar="FILE")
    check.add_argument("--posted", "--against", required=True, type=Path, metavar="POSTED.json")
    check.add_argument("--org-number", help="the store's; a file for another company is reported")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(handler=check_command)

    export = actions.add_parser(
        "export",
        help="write the vouchers of Z-reports as a SIE 4I file",
        description="Build the voucher of each Z-report (with the mapping, laid over the BAS "
        "defaults) and write the chosen days (default: all) as a SIE 4I file to import.",
    )
    export.add_argument("--z-report", required=True, action="append", type=Path, metavar="Z.json")
    export.add_argument("--mapping", type=Path, metavar="MAP.json")
    export.add_argument("--out", required=True, type=Path, metavar="FILE.si")
    export.add_argument("--day", action="append", type=date.fromisoformat, metavar="YYYY-MM-DD")
    export.add_argument("--series", default=None, help="voucher series, e.g. K (empty: the importer's)")
    export.add_argument("--checksum", action="store_true", help="add a #KSUMMA")
    export.add_argument(
        "--posted-via-api",
        action="append",
        type=date.fromisoformat,
        default=[],
        metavar="YYYY-MM-DD",
        help="a day already posted through the API (refused in the file)",
    )
    export.add_argument("--accounts", type=Path, metavar="NAMES.json", help='{"1910": "Kassa", ...}')
    export.set_defaults(handler=export_command)


def _fail(message: str) -> int:
    print(f"dagskassa: {message}", file=sys.stderr)
    return 2


def read_command(args: argparse.Namespace) -> int:
    from exporters.core.money import money_str
    from exporters.sie import SieError, read_sie

    try:
        sie = read_sie(args.file)
    except SieError as exc:
        return _fail(f"{args.file}: {exc}")
    if args.format == "json":
        print(json.dumps(sie.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"{args.file}: SIE {sie.kind} from {sie.program} {sie.program_version}".rstrip())
    print(f"company: {sie.company_name} ({sie.org_number or 'no org. number'})")
    print(f"encoding: {sie.encoding}; checksum: {sie.checksum if sie.checksum is not None else 'none'}")
    print(f"accounts: {len(sie.accounts)}; balances: {len(sie.balances)}; vouchers: {len(sie.vouchers)}")
    for voucher in sie.vouchers:
        print(f"\n#VER {voucher.series} {voucher.number} {voucher.date.isoformat()} {voucher.text}")
        for row in voucher.rows:
            objects = " ".join(f"{dim}:{obj}" for dim, obj in row.objects)
            print(f"  {row.account:>6} {money_str(row.amount):>14}  {objects:<12} {row.text}")
    return 0


def check_command(args: argparse.Namespace) -> int:
    from exporters.cli import read_json_file
    from exporters.core import FixData
    from exporters.sie.guard import check_sie_file, parse_posted

    try:
        booked = parse_posted(read_json_file(args.posted, "posted vouchers"))
        report = check_sie_file(args.file, booked, args.org_number)
    except FixData as exc:
        return _fail(f"{args.file}: {exc}")
    if args.format == "json":
        print(json.dumps({"file": str(args.file), **report.to_dict()}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(report.lines(str(args.file))))
    return 1 if report.duplicates or report.other_company else 0


def export_command(args: argparse.Namespace) -> int:
    from config.bas import bas_default_mapping_data
    from exporters.cli import read_json_file
    from exporters.core import BuildOptions, FixData, build_voucher, parse_mapping, parse_z_report
    from exporters.sie.export import BAS_ACCOUNT_NAMES, export_days
    from exporters.sie.writer import Company

    try:
        z_reports = [parse_z_report(read_json_file(path, "Z-report")) for path in args.z_report]
        mapping_data = read_json_file(args.mapping, "mapping") if args.mapping else {}
        if not isinstance(mapping_data, dict):
            return _fail(f"mapping file {args.mapping} must hold a JSON object")
        mapping = parse_mapping(mapping_data, base=bas_default_mapping_data())
        names = dict(BAS_ACCOUNT_NAMES)
        if args.accounts:
            extra = read_json_file(args.accounts, "account names")
            if not isinstance(extra, dict) or not all(str(key).isdigit() for key in extra):
                return _fail(
                    f'account names file {args.accounts} must map numbers to names: {{"1910": "Kassa"}}'
                )
            names.update({int(key): str(value) for key, value in extra.items()})
        companies = {(z.org_number, z.company_name or "") for z in z_reports}
        if len(companies) > 1:
            return _fail("the Z-reports belong to different companies; export one company per file")
        org_number, company_name = companies.pop()
        options = BuildOptions(voucher_series=args.series)
        vouchers = [build_voucher(z_report, mapping, options) for z_report in z_reports]
        days = args.day or [voucher.transaction_date for voucher in vouchers]
        content = export_days(
            vouchers,
            days,
            Company(company_name or org_number, org_number),
            generated=date.today(),
            posted_via_api=args.posted_via_api,
            accounts=names,
            checksum=args.checksum,
        )
    except FixData as exc:
        return _fail(str(exc))
    try:
        args.out.write_bytes(content)
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror}")
    written = sum(1 for voucher in vouchers if voucher.transaction_date in set(days) and not voucher.is_empty)
    print(f"wrote {written} voucher(s) for {len(set(days))} day(s) to {args.out}")
    return 0
