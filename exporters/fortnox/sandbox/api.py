"""The plumbing of the emulated REST API under ``/3/``: bearer authentication, the rate limit, scopes and
licenses, JSON bodies, pagination and answers. The resources live in ``bookkeeping.py`` and ``sales.py``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from exporters.fortnox.sandbox import errors
from exporters.fortnox.sandbox.books import FinancialYear, Tenant
from exporters.fortnox.sandbox.errors import ApiError, invalid
from exporters.fortnox.sandbox.schemas import validate
from exporters.fortnox.sandbox.state import Grant, SandboxState
from exporters.jsonmoney import encode_json

bp = Blueprint("fortnox_api", __name__, url_prefix="/3")

DEFAULT_LIMIT = 100
MAX_LIMIT = 500

#: The body of a 429. Fortnox's is not documented or recorded (FACTS.md section 2): UNCONFIRMED.
RATE_LIMITED_BODY = {"message": "Too Many Requests"}


def sandbox_state() -> SandboxState:
    return current_app.extensions["fortnox_sandbox"]


def answer(payload: Any, status: int = 200, location: str | None = None) -> Response:
    """A Fortnox JSON answer; amounts (Decimal) go out as JSON numbers like Fortnox's."""
    response = Response(encode_json(payload), status=status, mimetype="application/json")
    if location:
        response.headers["Location"] = location  # Fortnox sends just the collection name
    return response


def unauthorized() -> Response:
    return answer({"message": "unauthorized"}, 401)


def rate_limited() -> Response:
    return answer(RATE_LIMITED_BODY, 429)


def endpoint(scope: str | None, body_type: str = "application/json") -> Callable:
    """Wrap a view: authenticate the bearer token, apply the rate limit and the scope, hold the state's
    lock, and call ``view(tenant, **path_args)``. ``body_type``: what a POST or PUT must send (file
    uploads send ``multipart/form-data``)."""

    def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def run(**kwargs: Any) -> Response:
            state = sandbox_state()
            with state.lock:
                state.stats["requests"] += 1
                grant = _grant(state)
                if grant is None:
                    return unauthorized()
                if not state.take_rate_slot(grant.client_id, grant.tenant):
                    return rate_limited()
                tenant = state.tenants[grant.tenant]
                if scope is not None and scope not in grant.scopes:
                    # HTTP status UNCONFIRMED; the code is Fortnox's (FACTS.md section 1).
                    raise ApiError(403, errors.NOT_AUTHORISED_FOR_SCOPE, f"Not authorised for scope {scope}")
                if scope is not None and scope not in tenant.licenses:
                    raise ApiError(403, errors.NO_LICENSE, "Det finns ingen aktiv licens för önskat scope")
                _check_content_type(body_type)
                g.grant = grant
                return view(tenant, **kwargs)

        return run

    return wrap


def _grant(state: SandboxState) -> Grant | None:
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token:
        return None
    grant = state.access_tokens.get(token.strip())
    if grant is None or grant.expires_at <= state.clock.now():
        return None
    return grant


def _check_content_type(body_type: str) -> None:
    accept = request.headers.get("Accept", "*/*")
    if not any(kind in accept for kind in ("application/json", "*/*", "application/*")):
        raise invalid(1000030, "Invalid response type")  # Fortnox error list
    has_body = request.method in ("POST", "PUT") and request.content_length
    if has_body and request.mimetype != body_type:
        raise invalid(1000031, "Invalid content type")  # Fortnox error list


def read_body(wrapper: str, schema: str, partial: bool = False) -> dict[str, Any]:
    """The JSON body ``{wrapper: {...}}`` checked against the derived schema ``schema`` (``partial`` for
    an update, where required fields may be left out)."""
    raw = request.get_data()
    if not raw.strip():
        raise invalid(errors.EMPTY_BODY, "Ingen data skickades med anropet")
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise invalid(errors.JSON_SYNTAX, "Felaktig JSON-syntax") from None
    if not isinstance(data, dict) or wrapper not in data:
        raise invalid(errors.EMPTY_BODY, f"Felaktig data: {wrapper} saknas")
    for key in data:
        if key != wrapper:
            raise invalid(errors.INVALID_FIELD_NAME, f"Ogiltigt fältnamn ({key})")
    return validate(schema, data[wrapper], partial=partial)


def int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid(errors.INVALID_PARAMETER, f"Ogiltig parameter: {name}") from None


def paginate(items: Sequence[Any], key: str) -> Response:
    """Fortnox's list envelope: ``MetaInformation`` and one page of ``key``."""
    page = int_arg("page") or 1
    limit = int_arg("limit") or DEFAULT_LIMIT
    offset = int_arg("offset") or 0
    if page < 1 or limit < 1 or offset < 0:
        raise invalid(errors.INVALID_PARAMETER, "Ogiltig parameter: page, limit och offset")
    if limit > MAX_LIMIT:
        # Above 500: refused here; real Fortnox's behaviour is UNCONFIRMED (FACTS.md section 5).
        raise invalid(errors.INVALID_PARAMETER, f"Ogiltig parameter: limit får vara högst {MAX_LIMIT}")
    rest = items[offset:]
    start = (page - 1) * limit
    return answer(
        {
            "MetaInformation": {
                "@TotalResources": len(rest),
                "@TotalPages": math.ceil(len(rest) / limit),
                "@CurrentPage": page,
            },
            key: list(rest[start : start + limit]),
        }
    )


def year_arg(tenant: Tenant) -> FinancialYear:
    """The financial year a request names with ``?financialyear=`` (its Id) or ``?financialyeardate=``
    (a date in it), else the preselected one (the year of today, else the latest), as Fortnox does when
    the parameter is missing."""
    if "financialyeardate" in request.args:
        try:
            day = date.fromisoformat(request.args["financialyeardate"])
        except ValueError:
            raise invalid(errors.INVALID_PARAMETER, "Ogiltig parameter: financialyeardate") from None
        year = tenant.year_for(day)
        if year is None:
            raise invalid(errors.NO_FINANCIAL_YEAR, f"Räkenskapsår saknas för valt datum ({day})")
        return year
    year_id = int_arg("financialyear")
    if year_id is not None:
        year = tenant.financial_years.get(year_id)
        if year is None:
            raise invalid(errors.FINANCIAL_YEAR_NOT_FOUND, f"Räkenskapsår {year_id} hittades inte")
        return year
    state = sandbox_state()
    year = tenant.year_for(state.clock.today())
    if year is None:
        if not tenant.financial_years:
            raise invalid(errors.NO_FINANCIAL_YEAR, "Räkenskapsår saknas")
        year = tenant.financial_years[max(tenant.financial_years)]
    return year


def url(path: str) -> str:
    return f"{request.host_url}3/{path}"


def parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(errors.INVALID_PARAMETER, f"Ogiltigt datum i {name}: {value}") from None
