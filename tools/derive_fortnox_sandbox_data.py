"""Derive the Fortnox sandbox's data files from the reference material (run by hand, output committed).

    .venv/bin/python tools/derive_fortnox_sandbox_data.py ../shared/reference

writes, under exporters/fortnox/sandbox/data/:

- ``schemas.json``: a JSON Schema document (``$defs``) with the field names, types, lengths, ranges and
  enums of the Fortnox resources the product uses, trimmed from Fortnox's published OpenAPI spec. Every
  field may be null (Fortnox answers null for unset fields). Fields Fortnox computes itself are marked
  ``readOnly`` (the spec marks none; FACTS.md 3.2 lists them), and the spec's defect of requiring
  ``Voucher.Year`` is removed.
- ``bas_accounts.json``: the BAS 2025 accounts of the simplified chart plus every account the product's
  default mapping uses, as ``[[number, description], ...]``.

The project never reads the reference folder at run or test time; only this script does.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "exporters" / "fortnox" / "sandbox" / "data"

#: Resources (spec schema names without the ``fortnox_`` prefix) the sandbox serves or accepts.
ROOTS = (
    "Voucher",
    "VoucherListItem",
    "VoucherSeries",
    "VoucherSeriesListItem",
    "AccountSingleItem",
    "AccountListItem",
    "AccountPayload",
    "FinancialYear",
    "CostCenter",
    "CompanyInfo",
    "CompanySettings",
    "LockedPeriod",
    "Me",
    "Customer",
    "CustomerListItem",
    "Invoice",
    "InvoicePayload",
    "InvoiceListItem",
    "Order",
    "OrderListItem",
    "VoucherFileConnection",
)

#: Fields Fortnox sets itself: ignored when a client sends them (FACTS.md 3.2 and the recordings).
READ_ONLY = {
    "Voucher": {"@url", "VoucherNumber", "Year", "ReferenceNumber", "ReferenceType", "ApprovalState"},
    "Voucher_VoucherRow": {"Removed"},
    "VoucherSeries": {"@url", "NextVoucherNumber", "Year"},
    "AccountSingleItem": {"@url", "BalanceCarriedForward", "Year"},
    "FinancialYear": {"@url", "Id"},
    "CostCenter": {"@url"},
    "Customer": {"@url"},
    "Invoice": {
        "@url",
        "@urlTaxReductionList",
        "Balance",
        "Booked",
        "Cancelled",
        "Credit",
        "DocumentNumber",
        "Gross",
        "Net",
        "Sent",
        "Total",
        "TotalToPay",
        "TotalVAT",
        "VoucherNumber",
        "VoucherSeries",
        "VoucherYear",
    },
    "Order": {
        "@url",
        "@urlTaxReductionList",
        "Cancelled",
        "DocumentNumber",
        "Gross",
        "InvoiceReference",
        "Net",
        "Sent",
        "Total",
        "TotalToPay",
        "TotalVAT",
    },
}

#: A file connection's voucher description and year are Fortnox's to fill (the year comes from
#: ``?financialyear=``; FACTS.md section 4 and the C# SDK's ``[ReadOnly]`` marks).
READ_ONLY["VoucherFileConnection"] = {"@url", "VoucherDescription", "VoucherYear"}

#: Spec defects corrected (FACTS.md section 6).
NOT_REQUIRED = {"Voucher": {"Year"}}

#: Accounts the product's BAS default mapping and the sandbox's seeds use, kept even outside the
#: simplified chart.
PRODUCT_ACCOUNTS = {
    1510, 1580, 1910, 1930, 2421, 2611, 2621, 2631, 2890,
    3001, 3002, 3003, 3004, 3740, 6990,
}  # fmt: skip

SPEC_LIMIT = 2147483647  # the spec's "no limit"


def _field(spec: dict, name: str, refs: set[str]) -> dict:
    out: dict = {}
    if "$ref" in spec:
        target = spec["$ref"].rsplit("/", 1)[1].removeprefix("fortnox_")
        refs.add(target)
        return {"anyOf": [{"$ref": f"#/$defs/{target}"}, {"type": "null"}]}
    kind = spec.get("type", "string")
    out["type"] = [kind, "null"]
    for key in ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "format"):
        if key in spec and spec[key] != SPEC_LIMIT and not (key == "format" and spec[key] != "date"):
            out[key] = spec[key]
    if "enum" in spec:
        out["enum"] = [*spec["enum"], None]
    if kind == "array":
        out["items"] = _field(spec["items"], name, refs)
        if "anyOf" in out["items"]:
            out["items"] = out["items"]["anyOf"][0]
    return out


def derive_schemas(openapi: dict) -> dict:
    spec_schemas = openapi["components"]["schemas"]
    defs: dict = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in defs:
            continue
        spec = spec_schemas[f"fortnox_{name}"]
        refs: set[str] = set()
        read_only = READ_ONLY.get(name, set())
        properties = {}
        for field_name, field_spec in spec.get("properties", {}).items():
            prop = _field(field_spec, field_name, refs)
            if field_name in read_only:
                prop["readOnly"] = True
            properties[field_name] = prop
        required = [r for r in spec.get("required", []) if r not in NOT_REQUIRED.get(name, set())]
        defs[name] = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            defs[name]["required"] = required
        todo.extend(sorted(refs))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": "Derived by tools/derive_fortnox_sandbox_data.py from Fortnox's published OpenAPI "
        "spec (field names, types, lengths); do not edit by hand.",
        "$defs": dict(sorted(defs.items())),
    }


def derive_accounts(bas_markdown: str) -> list[list]:
    accounts: dict[int, str] = {}
    for line in bas_markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 6 or not cells[4].isdigit():
            continue
        number = int(cells[4])
        if cells[3] == "1" or number in PRODUCT_ACCOUNTS:
            accounts[number] = re.sub(r"\s+", " ", cells[5])
    missing = PRODUCT_ACCOUNTS - accounts.keys()
    if missing:
        raise SystemExit(f"BAS table lacks product accounts {sorted(missing)}")
    return [[number, accounts[number]] for number in sorted(accounts)]


def main(argv: list[str]) -> int:
    reference = Path(argv[1] if len(argv) > 1 else "../shared/reference")
    openapi = json.loads((reference / "fortnox" / "openapi-excerpt.json").read_text("utf-8"))
    bas = (reference / "bas" / "bas2025.md").read_text("utf-8")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "schemas.json").write_text(
        json.dumps(derive_schemas(openapi), indent=1, ensure_ascii=False) + "\n", "utf-8"
    )
    accounts = derive_accounts(bas)
    (OUT / "bas_accounts.json").write_text(
        "[\n" + ",\n".join(json.dumps(a, ensure_ascii=False) for a in accounts) + "\n]\n", "utf-8"
    )
    print(f"wrote {OUT}/schemas.json and {len(accounts)} accounts to {OUT}/bas_accounts.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
