"""The chart of accounts, voucher series (per financial year) and cost centers: what a voucher is checked
against. Scopes: ``bookkeeping`` (accounts, series), ``costcenter`` (cost centers). One chart serves every
financial year of a tenant (Fortnox keeps one per year; the product reads the current one)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response

from exporters.fortnox.sandbox import errors
from exporters.fortnox.sandbox.api import (
    answer,
    bp,
    endpoint,
    paginate,
    read_body,
    url,
    year_arg,
)
from exporters.fortnox.sandbox.books import Account, CostCenter, FinancialYear, Tenant, VoucherSeries
from exporters.fortnox.sandbox.errors import invalid, not_found

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
