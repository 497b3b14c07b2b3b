"""Vouchers (scope ``bookkeeping``) with Fortnox's rules: balance, at least two rows, accounts that exist
and are active, a manual series of the financial year, a date inside that year and after the locked
period, cost centers and projects that exist, are active, and are given where the account demands them.
Numbering is per series and year; there is no PUT or DELETE, as in Fortnox's published API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Response, request

from exporters.fortnox.sandbox import errors
from exporters.fortnox.sandbox.api import (
    answer,
    bp,
    endpoint,
    paginate,
    parse_date,
    read_body,
    sandbox_state,
    url,
    year_arg,
)
from exporters.fortnox.sandbox.books import FinancialYear, Tenant, Voucher, VoucherRow
from exporters.fortnox.sandbox.errors import invalid, not_found

CENT = Decimal("0.01")

# -- vouchers --------------------------------------------------------------------------------------------


def voucher_json(voucher: Voucher, rows: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@url": url(f"vouchers/{voucher.series}/{voucher.number}?financialyear={voucher.year}"),
        "ApprovalState": 0,
        "Comments": voucher.comments,
        "Description": voucher.description,
        "ReferenceNumber": voucher.reference_number,
        "ReferenceType": voucher.reference_type,
        "TransactionDate": voucher.transaction_date.isoformat(),
        "VoucherNumber": voucher.number,
        "VoucherSeries": voucher.series,
        "Year": voucher.year,
    }
    if rows:
        data["CostCenter"] = voucher.cost_center
        data["Project"] = voucher.project
        data["VoucherRows"] = [
            {
                "Account": row.account,
                "CostCenter": row.cost_center,
                "Credit": row.credit,
                "Debit": row.debit,
                "Description": row.description,
                "Project": row.project,
                "Quantity": row.quantity,
                "Removed": False,
                "TransactionInformation": row.transaction_information,
            }
            for row in voucher.rows
        ]
    return data


@bp.post("/vouchers")
@endpoint("bookkeeping")
def create_voucher_view(tenant: Tenant) -> Response:
    fields = read_body("Voucher", "Voucher")
    voucher = create_voucher(
        tenant,
        year_arg(tenant),
        series_code=fields["VoucherSeries"],
        day=date.fromisoformat(fields["TransactionDate"]),
        description=fields["Description"],
        rows=fields.get("VoucherRows", []),
        comments=fields.get("Comments", ""),
        cost_center=fields.get("CostCenter", ""),
        project=fields.get("Project", ""),
    )
    return answer({"Voucher": voucher_json(voucher)}, 201, "vouchers")


def create_voucher(
    tenant: Tenant,
    year: FinancialYear,
    *,
    series_code: str,
    day: date,
    description: str,
    rows: list[dict[str, Any]],
    comments: str = "",
    cost_center: str = "",
    project: str = "",
    manual: bool = True,
    reference: tuple[str, str] = ("MANUAL", ""),
) -> Voucher:
    """Book a voucher as Fortnox does, refusing it with Fortnox's error for the first broken rule.
    ``manual=False`` is Fortnox booking its own documents (an invoice), which may use automatic series."""
    if not year.covers(day):
        raise invalid(errors.NO_FINANCIAL_YEAR, f"Räkenskapsår saknas för valt datum ({day})")
    series = tenant.series.get((year.id, series_code))
    if series is None:
        raise invalid(errors.SERIES_NOT_FOUND, f"Ogiltig verifikationsserie angiven ({series_code})")
    if manual and not series.manual:
        raise invalid(errors.SERIES_NOT_MANUAL, f"Verifikationsserien är inte manuell ({series_code})")
    if tenant.locked_until and day <= tenant.locked_until:
        raise invalid(
            errors.LOCKED_PERIOD,
            f"{tenant.company['CompanyName']} har låst perioden t.o.m. {tenant.locked_until}. "
            "Lås upp perioden för att fortsätta.",
        )
    if len(rows) < 2:
        raise invalid(errors.VOUCHER_TOO_FEW_ROWS, "En verifikation måste ha minst två rader")
    booked = [_voucher_row(tenant, row, cost_center, project) for row in rows]
    debit = sum((row.debit for row in booked), Decimal(0))
    credit = sum((row.credit for row in booked), Decimal(0))
    if debit != credit:
        raise invalid(
            errors.VOUCHER_UNBALANCED,
            f"Verifikationen är inte i balans (debet {debit:.2f}, kredit {credit:.2f})",
        )
    voucher = Voucher(
        series=series_code,
        number=series.next_number,
        year=year.id,
        transaction_date=day,
        description=description,
        rows=booked,
        comments=comments,
        cost_center=cost_center,
        project=project,
        reference_type=reference[0],
        reference_number=reference[1],
        created_at=sandbox_state().clock.now(),
    )
    series.next_number += 1
    tenant.vouchers[(year.id, series_code, voucher.number)] = voucher
    sandbox_state().stats["vouchers"] += 1
    return voucher


@dataclass(frozen=True)
class Dimension:
    """A cost center or a project on a voucher row, and the errors Fortnox gives for each."""

    title: str
    not_found: int
    not_found_message: str
    inactive: int
    not_allowed: int
    mandatory: int


COST_CENTER = Dimension(
    "Kostnadsställe",
    errors.COST_CENTER_NOT_FOUND,
    "Kan inte hitta kostnadsstället.",
    errors.COST_CENTER_INACTIVE,
    errors.COST_CENTER_NOT_ALLOWED,
    errors.COST_CENTER_MANDATORY,
)
PROJECT = Dimension(
    "Projekt",
    errors.PROJECT_NOT_FOUND,
    "Kan inte hitta projektet.",  # recorded
    errors.PROJECT_INACTIVE,
    errors.PROJECT_NOT_ALLOWED,
    errors.PROJECT_MANDATORY,
)


def _voucher_row(
    tenant: Tenant, row: dict[str, Any], default_cost_center: str, default_project: str
) -> VoucherRow:
    number = row["Account"]
    account = tenant.accounts.get(number)
    if account is None:
        raise invalid(errors.ACCOUNT_NOT_FOUND, f"Kunde inte hitta konto ({number})")
    if not account.active:
        raise invalid(errors.ACCOUNT_INACTIVE, f'Konto "{number}" är inte aktivt')
    cost_centers = {code: center.active for code, center in tenant.cost_centers.items()}
    return VoucherRow(
        account=number,
        debit=Decimal(row.get("Debit", 0)).quantize(CENT, ROUND_HALF_UP),
        credit=Decimal(row.get("Credit", 0)).quantize(CENT, ROUND_HALF_UP),
        description=row.get("Description") or account.description,
        transaction_information=row.get("TransactionInformation", ""),
        cost_center=_dimension(
            COST_CENTER, row.get("CostCenter"), default_cost_center, account.cost_center_settings, number,
            cost_centers,
        ),
        project=_dimension(
            PROJECT, row.get("Project"), default_project, account.project_settings, number, tenant.projects
        ),
        quantity=Decimal(row.get("Quantity", 0)),
    )  # fmt: skip


def _dimension(
    dimension: Dimension, given: str | None, default: str, setting: str, account: int, active: dict[str, bool]
) -> str:
    """Check a row's cost center or project against the account's setting (ALLOWED, MANDATORY,
    NOTALLOWED). The voucher's own value is the default for rows whose account allows one."""
    if given and setting == "NOTALLOWED":
        raise invalid(dimension.not_allowed, f"{dimension.title} är inte tillåtet på konto {account}")
    code = given or (default if setting != "NOTALLOWED" else "")
    if not code:
        if setting == "MANDATORY":
            raise invalid(dimension.mandatory, f"{dimension.title} är obligatoriskt på konto {account}")
        return ""
    if code not in active:
        raise invalid(dimension.not_found, dimension.not_found_message)
    if not active[code]:
        raise invalid(dimension.inactive, f"{dimension.title} {code} är inte aktivt")
    return code


def _voucher_list(tenant: Tenant, year: FinancialYear, series: str | None) -> Response:
    fromdate = parse_date(request.args["fromdate"], "fromdate") if "fromdate" in request.args else None
    todate = parse_date(request.args["todate"], "todate") if "todate" in request.args else None
    series = series or request.args.get("voucherseries")
    cost_center = request.args.get("costcenter")
    found = []
    for (year_id, code, _), voucher in sorted(tenant.vouchers.items()):
        if year_id != year.id or (series and code != series):
            continue
        if (fromdate and voucher.transaction_date < fromdate) or (
            todate and voucher.transaction_date > todate
        ):
            continue
        if cost_center and cost_center not in {voucher.cost_center, *(r.cost_center for r in voucher.rows)}:
            continue
        found.append(voucher_json(voucher, rows=False))
    return paginate(found, "Vouchers")


@bp.get("/vouchers")
@endpoint("bookkeeping")
def vouchers(tenant: Tenant) -> Response:
    return _voucher_list(tenant, year_arg(tenant), None)


@bp.get("/vouchers/sublist")
@endpoint("bookkeeping")
def vouchers_of_year(tenant: Tenant) -> Response:
    return _voucher_list(tenant, year_arg(tenant), None)


@bp.get("/vouchers/sublist/<series>")
@endpoint("bookkeeping")
def vouchers_of_series(tenant: Tenant, series: str) -> Response:
    return _voucher_list(tenant, year_arg(tenant), series)


@bp.get("/vouchers/<series>/<int:number>")
@endpoint("bookkeeping")
def voucher(tenant: Tenant, series: str, number: int) -> Response:
    year = year_arg(tenant)
    found = tenant.vouchers.get((year.id, series, number))
    if found is None:
        raise not_found(errors.VOUCHER_NOT_FOUND, "Kan inte hitta verifikationen.")
    return answer({"Voucher": voucher_json(found)})
