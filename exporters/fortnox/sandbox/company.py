"""Company information (scope ``companyinformation``), company settings and the locked period (scope
``settings``; the locked period's scope is UNCONFIRMED), the user (``/3/me``), and financial years
(scope ``bookkeeping``)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request

from exporters.fortnox.sandbox import errors
from exporters.fortnox.sandbox.api import (
    answer,
    bp,
    endpoint,
    paginate,
    parse_date,
    sandbox_state,
    url,
)
from exporters.fortnox.sandbox.books import FinancialYear, Tenant
from exporters.fortnox.sandbox.errors import not_found

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
