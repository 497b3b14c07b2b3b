"""Company, financial years, accounts, voucher series, cost centers and vouchers, with Fortnox's rules.

Scopes (FACTS.md section 1): ``companyinformation`` for company information; ``settings`` for company
settings and the locked period (the locked period's scope is UNCONFIRMED); ``bookkeeping`` for financial
years, accounts, voucher series and vouchers; ``costcenter`` for cost centers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Response, g, request

from exporters.fortnox.sandbox import errors
from exporters.fortnox.sandbox.api import (
    answer,
    bp,
    endpoint,
    paginate,
    read_body,
    sandbox_state,
    url,
    year_arg,
)
from exporters.fortnox.sandbox.errors import invalid, not_found
from exporters.fortnox.sandbox.state import (
    Account,
    CostCenter,
    FinancialYear,
    Tenant,
    Voucher,
    VoucherRow,
    VoucherSeries,
)

CENT = Decimal("0.01")

# -- company -------------------------------------------------------------------------------------------


@bp.get("/companyinformation")
@endpoint("companyinformation")
def company_information(tenant: Tenant) -> Response:
    company = tenant.company
    keys = (
        "Address",
        "City",
        "CompanyName",
        "CountryCode",
        "DatabaseNumber",
        "OrganizationNumber",
        "ZipCode",
    )
    info = {key: company.get(key) for key in keys}
    info.update(VisitAddress=company["Address"], VisitCity=company["City"], VisitCountryCode="SE")
    info["VisitZipCode"] = company["ZipCode"]
    return answer({"CompanyInformation": info})


@bp.get("/settings/company")
@endpoint("settings")
def company_settings(tenant: Tenant) -> Response:
    company = tenant.company
    return answer(
        {
            "CompanySettings": {
                "Name": company["CompanyName"],
                "OrganizationNumber": company["OrganizationNumber"],
                "DatabaseNumber": str(tenant.database_number),
                "Address": company["Address"],
                "City": company["City"],
                "ZipCode": company["ZipCode"],
                "Country": "Sverige",
                "CountryCode": "SE",
                "Email": company["Email"],
                "Phone1": company["Phone1"],
                "VATNumber": "SE" + company["OrganizationNumber"].replace("-", "") + "01",
                "TaxEnabled": True,
            }
        }
    )


@bp.get("/settings/lockedperiod")
@endpoint("settings")
def locked_period(tenant: Tenant) -> Response:
    end = tenant.locked_until.isoformat() if tenant.locked_until else None
    return answer({"LockedPeriod": {"EndDate": end}})


@bp.get("/me")
@endpoint(None)
def me(tenant: Tenant) -> Response:
    user = sandbox_state().users.get(g.grant.user)
    name, email, admin = (user.name, user.email, user.sys_admin) if user else ("Service account", "", True)
    info = {
        "Id": user.id if user else "service",
        "Name": name,
        "Email": email,
        "Locale": "sv_SE",
        "SysAdmin": admin,
    }
    return answer({"MeInformation": info})


# -- financial years -----------------------------------------------------------------------------------


def year_json(year: FinancialYear) -> dict[str, Any]:
    return {
        "@url": url(f"financialyears/{year.id}"),
        "Id": year.id,
        "FromDate": year.from_date.isoformat(),
        "ToDate": year.to_date.isoformat(),
        "AccountChartType": year.chart,
        "AccountingMethod": year.accounting_method,
    }


@bp.get("/financialyears")
@endpoint("bookkeeping")
def financial_years(tenant: Tenant) -> Response:
    years = sorted(tenant.financial_years.values(), key=lambda y: y.from_date)
    if "date" in request.args:
        day = parse_date(request.args["date"], "date")
        years = [y for y in years if y.covers(day)]
    return paginate([year_json(y) for y in years], "FinancialYears")


@bp.get("/financialyears/<int:year_id>")
@endpoint("bookkeeping")
def financial_year(tenant: Tenant, year_id: int) -> Response:
    year = tenant.financial_years.get(year_id)
    if year is None:
        raise not_found(errors.FINANCIAL_YEAR_NOT_FOUND, "Kan inte hitta räkenskapsåret.")
    return answer({"FinancialYear": year_json(year)})


def parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(errors.INVALID_PARAMETER, f"Ogiltigt datum i {name}: {value}") from None


# -- accounts --------------------------------------------------------------------------------------------


def account_json(account: Account, year: FinancialYear, single: bool = False) -> dict[str, Any]:
    data = {
        "@url": url(f"accounts/{account.number}"),
        "Active": account.active,
        "BalanceBroughtForward": Decimal(0),
        "CostCenter": "",
        "CostCenterSettings": account.cost_center_settings,
        "Description": account.description,
        "Number": account.number,
        "Project": "",
        "ProjectSettings": account.project_settings,
        "SRU": account.sru,
        "VATCode": account.vat_code,
        "Year": year.id,
    }
    if single:
        data.update(
            BalanceCarriedForward=Decimal(0),
            OpeningQuantities=[],
            QuantitySettings="ALLOWED",
            QuantityUnit="",
            TransactionInformation="",
            TransactionInformationSettings="ALLOWED",
        )
    return data


@bp.get("/accounts")
@endpoint("bookkeeping")
def accounts(tenant: Tenant) -> Response:
    year = year_arg(tenant)
    return paginate([account_json(a, year) for _, a in sorted(tenant.accounts.items())], "Accounts")


@bp.get("/accounts/<int:number>")
@endpoint("bookkeeping")
def account(tenant: Tenant, number: int) -> Response:
    return answer({"Account": account_json(_account(tenant, number), year_arg(tenant), single=True)})


@bp.put("/accounts/<int:number>")
@endpoint("bookkeeping")
def update_account(tenant: Tenant, number: int) -> Response:
    found = _account(tenant, number)
    _apply_account(found, read_body("Account", "AccountPayload", partial=True))
    return answer({"Account": account_json(found, year_arg(tenant), single=True)})


@bp.post("/accounts")
@endpoint("bookkeeping")
def create_account(tenant: Tenant) -> Response:
    fields = read_body("Account", "AccountPayload")
    if fields["Number"] in tenant.accounts:
        raise invalid(errors.ACCOUNT_EXISTS, f"Konto {fields['Number']} finns redan")
    created = Account(fields["Number"], fields["Description"])
    _apply_account(created, fields)
    tenant.accounts[created.number] = created
    return answer({"Account": account_json(created, year_arg(tenant), single=True)}, 201, "accounts")


def _account(tenant: Tenant, number: int) -> Account:
    found = tenant.accounts.get(number)
    if found is None:
        # Fortnox's 404 code for an account is not recorded; the "account not found" code is reused.
        raise not_found(errors.ACCOUNT_NOT_FOUND, "Kunde inte hitta konto")
    return found


def _apply_account(target: Account, fields: dict[str, Any]) -> None:
    target.description = fields.get("Description", target.description)
    target.active = fields.get("Active", target.active)
    target.cost_center_settings = fields.get("CostCenterSettings", target.cost_center_settings)
    target.project_settings = fields.get("ProjectSettings", target.project_settings)
    target.vat_code = fields.get("VATCode", target.vat_code)
    target.sru = fields.get("SRU", target.sru)


# -- voucher series --------------------------------------------------------------------------------------


def series_json(series: VoucherSeries, year: FinancialYear, single: bool = False) -> dict[str, Any]:
    data = {
        "@url": url(f"voucherseries/{series.code}"),
        "Code": series.code,
        "Description": series.description,
        "Manual": series.manual,
        "Year": year.id,
        "Approver": {"Id": 0, "Name": ""},
    }
    if single:
        data["NextVoucherNumber"] = series.next_number
    return data


@bp.get("/voucherseries")
@endpoint("bookkeeping")
def voucher_series_list(tenant: Tenant) -> Response:
    year = year_arg(tenant)
    found = [s for (y, _), s in sorted(tenant.series.items()) if y == year.id]
    return paginate([series_json(s, year) for s in found], "VoucherSeriesCollection")


@bp.get("/voucherseries/<code>")
@endpoint("bookkeeping")
def voucher_series(tenant: Tenant, code: str) -> Response:
    year = year_arg(tenant)
    return answer({"VoucherSeries": series_json(_series(tenant, year, code), year, single=True)})


@bp.put("/voucherseries/<code>")
@endpoint("bookkeeping")
def update_voucher_series(tenant: Tenant, code: str) -> Response:
    year = year_arg(tenant)
    series = _series(tenant, year, code)
    fields = read_body("VoucherSeries", "VoucherSeries", partial=True)
    series.description = fields.get("Description", series.description)
    series.manual = fields.get("Manual", series.manual)
    return answer({"VoucherSeries": series_json(series, year, single=True)})


@bp.post("/voucherseries")
@endpoint("bookkeeping")
def create_voucher_series(tenant: Tenant) -> Response:
    year = year_arg(tenant)
    fields = read_body("VoucherSeries", "VoucherSeries")
    if (year.id, fields["Code"]) in tenant.series:
        raise invalid(errors.SERIES_EXISTS, f"Verifikationsserien {fields['Code']} finns redan")
    series = VoucherSeries(fields["Code"], fields.get("Description", ""), fields.get("Manual", True))
    tenant.series[(year.id, series.code)] = series
    return answer({"VoucherSeries": series_json(series, year, single=True)}, 201, "voucherseries")


def _series(tenant: Tenant, year: FinancialYear, code: str) -> VoucherSeries:
    series = tenant.series.get((year.id, code))
    if series is None:
        raise not_found(errors.SERIES_NOT_FOUND, "Kan inte hitta verifikationsserien.")
    return series


# -- cost centers ----------------------------------------------------------------------------------------


def cost_center_json(cost_center: CostCenter) -> dict[str, Any]:
    return {
        "@url": url(f"costcenters/{cost_center.code}"),
        "Code": cost_center.code,
        "Description": cost_center.description,
        "Active": cost_center.active,
        "Note": cost_center.note,
    }


@bp.get("/costcenters")
@endpoint("costcenter")
def cost_centers(tenant: Tenant) -> Response:
    found = [cost_center_json(c) for _, c in sorted(tenant.cost_centers.items())]
    return paginate(found, "CostCenters")


@bp.get("/costcenters/<code>")
@endpoint("costcenter")
def cost_center(tenant: Tenant, code: str) -> Response:
    return answer({"CostCenter": cost_center_json(_cost_center(tenant, code))})


@bp.post("/costcenters")
@endpoint("costcenter")
def create_cost_center(tenant: Tenant) -> Response:
    fields = read_body("CostCenter", "CostCenter")
    if fields["Code"] in tenant.cost_centers:
        raise invalid(errors.COST_CENTER_EXISTS, f"Kostnadsställe {fields['Code']} finns redan")
    created = CostCenter(
        fields["Code"], fields["Description"], fields.get("Active", True), fields.get("Note", "")
    )
    tenant.cost_centers[created.code] = created
    return answer({"CostCenter": cost_center_json(created)}, 201, "costcenters")


@bp.put("/costcenters/<code>")
@endpoint("costcenter")
def update_cost_center(tenant: Tenant, code: str) -> Response:
    found = _cost_center(tenant, code)
    fields = read_body("CostCenter", "CostCenter", partial=True)
    found.description = fields.get("Description", found.description)
    found.active = fields.get("Active", found.active)
    found.note = fields.get("Note", found.note)
    return answer({"CostCenter": cost_center_json(found)})


@bp.delete("/costcenters/<code>")
@endpoint("costcenter")
def delete_cost_center(tenant: Tenant, code: str) -> Response:
    _cost_center(tenant, code)
    del tenant.cost_centers[code]
    return Response(status=204)


def _cost_center(tenant: Tenant, code: str) -> CostCenter:
    found = tenant.cost_centers.get(code)
    if found is None:
        raise not_found(errors.COST_CENTER_NOT_FOUND, "Kan inte hitta kostnadsstället.")
    return found


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
