"""The plumbing of the emulated eAccounting API under ``/v2/``: bearer tokens, the rate limit, the API
module and scopes, Visma's error body, ``Meta``/``Data`` pagination and ``$filter``.

Visma's error body (FACTS.md section 2)::

    {"ErrorCode": 3002, "DeveloperErrorMessage": "...", "ErrorId": "<uuid>", "Errors": [...] | null}
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from exporters.jsonmoney import encode_json
from exporters.visma.sandbox.state import Company, Grant, SandboxState, new_id

bp = Blueprint("visma_api", __name__, url_prefix="/v2")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

# Visma's error codes (FACTS.md section 2, error code catalogue).
DATA_MODEL_VALIDATION = 2000
RESOURCE_NOT_FOUND = 3000
FISCAL_YEAR_DOES_NOT_EXIST = 3001
ACCOUNT_NOT_FOUND = 3002
CONFLICT = 4000
NO_ACCESS_TO_MODULE = 4002
NO_ACCESS_TO_SCOPES = 4006
TOO_MANY_REQUESTS = 4010
VOUCHER_DATE_IN_LOCKED_PERIOD = 4026
VOUCHER_DATE_IN_LOCKED_YEAR = 4038
INTERNAL_SERVER_ERROR = 5000
INACTIVE_COST_CENTER = 5006
ITEM_TO_ATTACH_NOT_FOUND = 5007
QUERY_PARAMETER_ERROR = 6000
INVALID_INPUT = 6001


class VismaError(Exception):
    """Raised by a view; rendered as Visma's error body."""

    def __init__(self, status: int, code: int, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.errors)


def error_response(
    status: int, code: int, message: str, errors: list[dict[str, str]] | None = None
) -> Response:
    body = {"ErrorCode": code, "DeveloperErrorMessage": message, "ErrorId": new_id(), "Errors": errors}
    return Response(json.dumps(body), status=status, content_type="application/json;charset=UTF-8")


def invalid(message: str, field: str = "", code: int = DATA_MODEL_VALIDATION) -> VismaError:
    errors = [{"ErrorCode": "DataModelValidationError", "Field": field, "Key": field, "Message": message}]
    return VismaError(400, code, message, errors if field else None)


def rate_limited(wait_seconds: float, limit: int) -> Response:
    """Visma's 429: the wait is only in the text (FACTS.md section 2)."""
    message = (
        f"API calls quota exceeded! maximum admitted {limit} per Minute. "
        f"Try again in {max(1, math.ceil(wait_seconds))} seconds."
    )
    return error_response(429, TOO_MANY_REQUESTS, message)


def sandbox_state() -> SandboxState:
    return current_app.extensions["visma_sandbox"]


def answer(payload: Any, status: int = 200) -> Response:
    """A JSON answer; Decimal amounts go out as JSON numbers, as Visma's doubles do."""
    return Response(encode_json(payload), status=status, mimetype="application/json")


def utc_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def endpoint(*scopes: str) -> Callable:
    """Wrap a view: bearer token (401), rate limit per client and endpoint (429/4010), the API module
    (403/4002), ``ea:api`` plus any of ``scopes`` (403/4006); hold the lock; call ``view(company, ...)``."""

    def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def run(**kwargs: Any) -> Response:
            state = sandbox_state()
            with state.lock:
                state.stats["requests"] += 1
                grant = _grant(state)
                if grant is None:
                    return Response(status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
                resource = request.path.removeprefix("/v2/").split("/")[0].lower()
                wait = state.take_rate_slot(grant.client_id, resource)
                if wait is not None:
                    return rate_limited(wait, state.knobs.rate_limit)
                company = state.companies[grant.company]
                try:
                    if not company.api_module_active:
                        raise VismaError(
                            403,
                            NO_ACCESS_TO_MODULE,
                            "ForbiddenRequestException - No access to module: api_standard",
                        )
                    if "ea:api" not in grant.scopes or (scopes and not set(scopes) & set(grant.scopes)):
                        raise VismaError(
                            403,
                            NO_ACCESS_TO_SCOPES,
                            f"No access to scopes. This endpoint requires any of: {', '.join(scopes)}",
                        )
                    g.grant = grant
                    return view(company, **kwargs)
                except VismaError as exc:
                    return exc.response()

        return run

    return wrap


def _grant(state: SandboxState) -> Grant | None:
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() != "bearer" or not token:
        return None
    grant = state.access_tokens.get(token.strip())
    if grant is None or grant.revoked or grant.expires_at <= state.clock.now():
        return None
    return grant


def read_json() -> Any:
    raw = request.get_data()
    if request.mimetype != "application/json":
        raise VismaError(415, DATA_MODEL_VALIDATION, "Unsupported media type: send application/json")
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise invalid("The request body is not valid JSON") from None


def check_properties(body: Any, allowed: Iterable[str], where: str) -> dict[str, Any]:
    """Visma's models have ``additionalProperties: false``: an unknown member is a 2000."""
    if not isinstance(body, dict):
        raise invalid(f"{where or 'The body'} must be a JSON object", where or "body")
    allowed = set(allowed)
    for key in body:
        if key not in allowed:
            field = f"{where}.{key}" if where else key
            raise invalid(f"Could not find member '{key}' on object of type '{where or 'body'}'", field)
    return body


def paginate(items: Sequence[Any]) -> Response:
    """Visma's list envelope: ``{"Meta": {...}, "Data": [...]}`` with ``$page`` and ``$pagesize``."""
    page = _int_arg("$page", 1)
    # Above 1000 the size is clamped here; Visma's own behaviour is UNCONFIRMED (FACTS.md section 2).
    size = min(_int_arg("$pagesize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    if page < 1 or size < 1:
        raise VismaError(400, QUERY_PARAMETER_ERROR, "$page and $pagesize must be positive integers")
    start = (page - 1) * size
    meta = {
        "CurrentPage": page,
        "PageSize": size,
        "TotalNumberOfPages": math.ceil(len(items) / size),
        "TotalNumberOfResults": len(items),
        "ServerTimeUtc": sandbox_state().clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return answer({"Meta": meta, "Data": list(items[start : start + size])})


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise VismaError(400, QUERY_PARAMETER_ERROR, f"Invalid value for {name}: {value}") from None


_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ne|gt|ge|lt|le)\s+('(?:[^']|'')*'|[\w:.\-+]+)\s*$", re.IGNORECASE)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def parse_filter(text: str, fields: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    """An OData ``$filter`` of ``Field op value`` clauses joined by ``and``, over ``fields`` (name ->
    kind: ``date``, ``datetime``, ``int``, ``str``). Bad syntax is 6000, a bad date 6001."""
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if not match or match.group(1) not in fields:
            raise VismaError(400, QUERY_PARAMETER_ERROR, f"Invalid filter: {clause.strip()!r}")
        name, op, raw = match.group(1), match.group(2).lower(), match.group(3)
        value = _filter_value(raw, fields[name])
        tests.append(
            lambda item, n=name, o=op, v=value: item[n] is not None and _OPS[o](_comparable(item[n], v), v)
        )
    return lambda item: all(test(item) for test in tests)


def _filter_value(raw: str, kind: str) -> Any:
    if raw.startswith("'"):
        text = raw[1:-1].replace("''", "'")
        if kind != "str":
            raise VismaError(400, QUERY_PARAMETER_ERROR, f"Invalid filter value {raw}")
        return text
    if kind in ("date", "datetime"):
        try:
            if len(raw) == 10:
                return date.fromisoformat(raw)
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            raise VismaError(400, INVALID_INPUT, f"Invalid DateTime format: {raw}") from None
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise VismaError(400, QUERY_PARAMETER_ERROR, f"Invalid filter value {raw}") from None
    raise VismaError(400, QUERY_PARAMETER_ERROR, f"Invalid filter value {raw}")


def _comparable(value: Any, against: Any) -> Any:
    """A voucher's date compared with a date-time filter value is that date at midnight UTC."""
    if isinstance(against, datetime) and isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(against, date) and not isinstance(against, datetime) and isinstance(value, datetime):
        return value.date()
    return value


def company_settings(company: Company) -> dict[str, Any]:
    locked = company.accounting_locked_to
    return {
        "Name": company.name,
        "CorporateIdentityNumber": company.org_number,
        "CountryCode": "SE",
        "CurrencyCode": "SEK",
        "AccountingLockedTo": f"{locked.isoformat()}T00:00:00" if locked else None,
        "AccountingLockInterval": 0,
        "UsesCostCenter": bool(company.cost_centers),
        "UsesProject": False,
        "ProductVariant": 1,
        "CompanyStatus": 1,
        "AccountNumberDigits": 4,
    }


@bp.get("/companysettings")
@endpoint("ea:sales", "ea:sales_readonly")
def get_company_settings(company: Company) -> Response:
    return answer(company_settings(company))


@bp.get("/fiscalyears")
@endpoint("ea:sales", "ea:sales_readonly", "ea:accounting", "ea:accounting_readonly")
def list_fiscal_years(company: Company) -> Response:
    years = sorted(company.fiscal_years.values(), key=lambda y: y.start)
    return paginate([_fiscal_year(year) for year in years])


@bp.get("/fiscalyears/<year_id>")
@endpoint("ea:sales", "ea:sales_readonly", "ea:accounting", "ea:accounting_readonly")
def get_fiscal_year(company: Company, year_id: str) -> Response:
    year = company.fiscal_years.get(year_id)
    if year is None:
        raise VismaError(404, FISCAL_YEAR_DOES_NOT_EXIST, "Fiscal year not found")
    return answer(_fiscal_year(year))


def _fiscal_year(year: Any) -> dict[str, Any]:
    return {
        "Id": year.id,
        "StartDate": f"{year.start.isoformat()}T00:00:00",
        "EndDate": f"{year.end.isoformat()}T00:00:00",
        "IsLockedForAccounting": year.is_locked_for_accounting,
        "BookkeepingMethod": year.bookkeeping_method,
    }


@bp.get("/accounts/<year_id>")
@endpoint("ea:accounting", "ea:accounting_readonly")
def list_accounts(company: Company, year_id: str) -> Response:
    if year_id not in company.fiscal_years:
        raise VismaError(400, FISCAL_YEAR_DOES_NOT_EXIST, f"Fiscal year {year_id} does not exist")
    accounts = sorted((a for (y, _), a in company.accounts.items() if y == year_id), key=lambda a: a.number)
    return paginate([account_body(account) for account in accounts])


@bp.get("/accounts/<year_id>/<int:number>")
@endpoint("ea:accounting", "ea:accounting_readonly")
def get_account(company: Company, year_id: str, number: int) -> Response:
    account = company.accounts.get((year_id, number))
    if account is None:
        raise VismaError(404, ACCOUNT_NOT_FOUND, f"Account {number} not found")
    return answer(account_body(account))


def account_body(account: Any) -> dict[str, Any]:
    return {
        "Name": account.name,
        "Number": str(account.number),  # a string here, an integer on voucher rows (FACTS.md section 4)
        "FiscalYearId": account.fiscal_year_id,
        "VatCodeId": None,
        "VatCodeDescription": account.vat_code or None,
        "IsActive": account.is_active,
        "IsBlockedForManualBooking": account.is_blocked_for_manual_booking,
        "IsCostCenterAllowed": account.is_cost_center_allowed,
        "IsFirstCostCenterMandatory": account.is_first_cost_center_mandatory,
        "IsProjectAllowed": True,
        "AllowTransactionText": True,
    }


@bp.get("/costcenters")
@endpoint("ea:accounting", "ea:accounting_readonly", "ea:sales", "ea:sales_readonly")
def list_cost_centers(company: Company) -> Response:
    centers = sorted(company.cost_centers.values(), key=lambda c: c.number)
    return paginate(
        [
            {
                "Id": center.id,
                "Name": center.name,
                "Number": center.number,
                "IsActive": center.is_active,
                "Items": [cost_center_item_body(item) for item in center.items],
            }
            for center in centers
        ]
    )


@bp.get("/costcenteritems/<item_id>")
@endpoint("ea:accounting", "ea:accounting_readonly", "ea:sales", "ea:sales_readonly")
def get_cost_center_item(company: Company, item_id: str) -> Response:
    item = company.cost_center_item(item_id)
    if item is None:
        raise VismaError(404, RESOURCE_NOT_FOUND, "Cost center item not found")
    return answer(cost_center_item_body(item))


def cost_center_item_body(item: Any) -> dict[str, Any]:
    return {
        "Id": item.id,
        "CostCenterId": item.cost_center_id,
        "Name": item.name,
        "ShortName": item.short_name,
        "IsActive": item.is_active,
    }


CUSTOMER_REQUIRED = (
    "Name",
    "InvoiceCity",
    "InvoicePostalCode",
    "IsActive",
    "IsPrivatePerson",
    "TermsOfPaymentId",
)


@bp.get("/customers")
@endpoint("ea:sales", "ea:sales_readonly")
def list_customers(company: Company) -> Response:
    customers = sorted(company.customers.values(), key=lambda c: c["CustomerNumber"])
    if request.args.get("$filter"):
        keep = parse_filter(
            request.args["$filter"],
            {"CustomerNumber": "str", "CorporateIdentityNumber": "str", "Name": "str"},
        )
        customers = [c for c in customers if keep(c)]
    return paginate(customers)


@bp.post("/customers")
@endpoint("ea:sales")
def create_customer(company: Company) -> Response:
    body = read_json()
    if not isinstance(body, dict):
        raise invalid("The body must be a JSON object", "body")
    for name in CUSTOMER_REQUIRED:
        if body.get(name) in (None, ""):
            raise invalid(f"The {name} field is required.", name)
    if len(str(body["Name"])) > 50:
        raise invalid("Name may be at most 50 characters", "Name")
    number = str(body.get("CustomerNumber") or len(company.customers) + 1)
    if any(c["CustomerNumber"] == number for c in company.customers.values()):
        raise VismaError(400, CONFLICT, f"Customer number {number} is already in use")
    customer = {**body, "Id": new_id(), "CustomerNumber": number}
    company.customers[customer["Id"]] = customer
    return answer(customer, 201)


def ensure(condition: bool, error: VismaError) -> None:
    if not condition:
        raise error
