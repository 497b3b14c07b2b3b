"""``dagskassa voucher preview``: the voucher a Z-report file would become, without posting anything."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path

from config.bas import bas_default_mapping_data
from exporters.core import (
    BuildOptions,
    FixData,
    build_voucher,
    parse_mapping,
    parse_z_report,
)
from exporters.core.voucher import voucher_table


def register(subparsers: argparse._SubParsersAction) -> None:
    voucher = subparsers.add_parser("voucher", help="preview the voucher of a Z-report file")
    actions = voucher.add_subparsers(dest="voucher_command", metavar="ACTION", required=True)
    preview = actions.add_parser(
        "preview",
        help="print the voucher a Z-report would become",
        description="Build the voucher of a Z-report (JSON, DESIGN.md section 2) with a mapping "
        "(JSON; without one, the BAS defaults). Exits 2 with every problem on stderr.",
    )
    preview.add_argument("--z-report", required=True, type=Path, metavar="Z.json")
    preview.add_argument("--mapping", type=Path, metavar="MAP.json", help="laid over the BAS defaults")
    preview.add_argument("--format", choices=("table", "json"), default="table")
    preview.add_argument(
        "--invoicing", action="store_true", help="invoice sales go to invoices, not the voucher"
    )
    preview.add_argument("--series", default=None, help="voucher series, e.g. K")
    preview.set_defaults(handler=preview_command)


def read_json_file(path: Path, what: str) -> object:
    """Load a JSON file with amounts as Decimal, or exit 2 saying which file is wrong and where."""
    try:
        return json.loads(path.read_text("utf-8"), parse_float=Decimal)
    except FileNotFoundError:
        raise SystemExit(_fail(f"{what} file {path} not found")) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SystemExit(_fail(f"{what} file {path} is not valid JSON: {exc}")) from None


def _fail(message: str) -> int:
    print(f"dagskassa: {message}", file=sys.stderr)
    return 2


def preview_command(args: argparse.Namespace) -> int:
    try:
        z_report = parse_z_report(read_json_file(args.z_report, "Z-report"))
        mapping_data = read_json_file(args.mapping, "mapping") if args.mapping else {}
        if not isinstance(mapping_data, dict):
            return _fail(f"mapping file {args.mapping} must hold a JSON object")
        mapping = parse_mapping(mapping_data, base=bas_default_mapping_data())
        options = BuildOptions(invoicing=args.invoicing, voucher_series=args.series)
        voucher = build_voucher(z_report, mapping, options)
    except FixData as exc:
        return _fail(str(exc))
    if args.format == "json":
        data = voucher.to_dict()
        row_keys = ("account", "debit", "credit", "cost_center", "project", "text")
        output = {
            "description": data["description"],
            "transaction_date": data["transaction_date"],
            "rows": [{key: row[key] for key in row_keys} for row in data["rows"]],
        }
        print(json.dumps(output, ensure_ascii=False, indent=2))
    else:
        print(voucher_table(voucher))
    for item in z_report.missing_required_items():
        print(
            f"dagskassa: note: the Z-report lacks {item} (required by SKVFS 2014:9)",
            file=sys.stderr,
        )
    return 0
