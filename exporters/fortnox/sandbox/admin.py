"""The sandbox's own pages and admin endpoints under ``/_sandbox/`` (no Fortnox path starts so).

Reading needs nothing: ``GET /_sandbox/ledger`` (HTML), ``/_sandbox/ledger.json`` (both take
``?tenant=<database number>``), ``/_sandbox/state`` (knobs, clock, counters, tenants),
``/_sandbox/files/<id>`` (an uploaded file, as the ledger page links it).
Changing needs the header ``X-Sandbox-Admin: 1``, so a Fortnox client pointed at the wrong base URL
can never change the sandbox by mistake:

- ``POST /_sandbox/knobs``: ``{"latency_ms", "seed", "timeout_sleep_s", "rate_limit": {"enabled",
  "limit", "window_s"}, "faults": [{"kind", "rate", "nth", "method", "path", "status", "times"}]}``
  (each key optional; ``faults`` replaces the list);
- ``POST /_sandbox/reset``: back to the documented seeds, ``{"seed": n}`` optional;
- ``POST /_sandbox/clock``: ``{"now": "2026-11-20T23:00:00+01:00"}`` or ``{"advance_seconds": 3600}``;
- ``POST /_sandbox/tenants``: ``{"database_number", "company_name", "organization_number",
  "user_email", "user_password"}`` adds a seeded company and a system administrator for it;
- ``POST /_sandbox/tenants/<n>/lockedperiod``: ``{"EndDate": "2026-03-31" | null}``;
- ``POST /_sandbox/tenants/<n>/financialyears``: ``{"FromDate", "ToDate"}`` (with series A, B, K);
- ``DELETE /_sandbox/tenants/<n>/financialyears/<id>``;
- ``POST /_sandbox/tenants/<n>/licenses``: ``{"licenses": ["bookkeeping", ...]}``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from exporters.fortnox.sandbox.api import sandbox_state
from exporters.fortnox.sandbox.books import Tenant
from exporters.fortnox.sandbox.pages import ledger_page_html
from exporters.fortnox.sandbox.scopes import KNOWN_SCOPES
from exporters.fortnox.sandbox.seed import SERIES, seed_tenant, seeded_state
from exporters.fortnox.sandbox.state import Fault, SandboxState, User

bp = Blueprint("fortnox_sandbox_admin", __name__, url_prefix="/_sandbox")

ADMIN_HEADER = "X-Sandbox-Admin"


class AdminError(Exception):
    pass


@bp.before_request
def guard() -> Response | None:
    if request.method != "GET" and request.headers.get(ADMIN_HEADER) != "1":
        return _problem(f"sandbox admin endpoints change state only with the header {ADMIN_HEADER}: 1", 403)
    return None


@bp.errorhandler(AdminError)
def admin_error(exc: AdminError) -> Response:
    return _problem(str(exc), 400)


def _problem(message: str, status: int) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise AdminError("send a JSON object")
    return data


def _tenant(state: SandboxState, database_number: int) -> Tenant:
    if database_number not in state.tenants:
        raise AdminError(f"no tenant {database_number}")
    return state.tenants[database_number]


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise AdminError(f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


@bp.get("/state")
def show_state() -> Response:
    state = sandbox_state()
    with state.lock:
        return jsonify(
            {
                "now": state.clock.now().isoformat(),
                "knobs": state.knobs.to_dict(),
                "stats": dict(state.stats),
                "tenants": [
                    {"database_number": t.database_number, "company_name": t.company["CompanyName"]}
                    for t in state.tenants.values()
                ],
            }
        )


@bp.post("/knobs")
def set_knobs() -> Response:
    data = _json()
    state = sandbox_state()
    with state.lock:
        knobs = state.knobs
        try:
            faults = [Fault(**fault) for fault in data.get("faults", [])]
            knobs.latency_ms = float(data.get("latency_ms", knobs.latency_ms))
            knobs.timeout_sleep_s = float(data.get("timeout_sleep_s", knobs.timeout_sleep_s))
            limit = data.get("rate_limit", {})
            knobs.rate_limit_enabled = bool(limit.get("enabled", knobs.rate_limit_enabled))
            knobs.rate_limit = int(limit.get("limit", knobs.rate_limit))
            knobs.rate_window_s = float(limit.get("window_s", knobs.rate_window_s))
        except (TypeError, ValueError, AttributeError) as exc:
            raise AdminError(f"bad knobs: {exc}") from None
        if "faults" in data:
            knobs.faults = faults
        if "seed" in data:
            knobs.reseed(int(data["seed"]))
        return jsonify(knobs.to_dict())


@bp.post("/reset")
def reset() -> Response:
    """Back to the documented seeds (``{"seed": n}`` optional): tenants, tokens, knobs, clock, counters."""
    data = request.get_json(silent=True) or {}
    state = sandbox_state()
    fresh = seeded_state(seed=int(data.get("seed", 0)))
    with state.lock:
        for name, value in vars(fresh).items():
            if name != "lock":
                setattr(state, name, value)
        return jsonify({"reset": True})


@bp.post("/clock")
def set_clock() -> Response:
    data = _json()
    state = sandbox_state()
    with state.lock:
        if "now" in data:
            try:
                state.clock.set(datetime.fromisoformat(data["now"]))
            except (TypeError, ValueError):
                raise AdminError("now must be an ISO 8601 date and time") from None
        state.clock.advance(float(data.get("advance_seconds", 0)))
        return jsonify({"now": state.clock.now().isoformat()})


@bp.post("/tenants")
def add_tenant() -> Response:
    data = _json()
    state = sandbox_state()
    with state.lock:
        try:
            number = int(data["database_number"])
            email = str(data["user_email"]).lower()
            password = str(data["user_password"])
            name = str(data["company_name"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AdminError(f"missing or bad field: {exc}") from None
        if number in state.tenants:
            raise AdminError(f"tenant {number} exists")
        seed_tenant(state, number, name, str(data.get("organization_number", "556000-0000")))
        user = state.users.get(email)
        tenants = (*user.tenants, number) if user else (number,)
        state.users[email] = User(email, password, name, tenants, True, id=f"user-{len(state.users) + 1}")
        return jsonify({"database_number": number, "user_email": email}), 201


@bp.post("/tenants/<int:number>/lockedperiod")
def set_locked_period(number: int) -> Response:
    data = _json()
    state = sandbox_state()
    with state.lock:
        tenant = _tenant(state, number)
        end = data.get("EndDate")
        tenant.locked_until = _date(end, "EndDate") if end else None
        return jsonify({"LockedPeriod": {"EndDate": end}})


@bp.post("/tenants/<int:number>/financialyears")
def add_financial_year(number: int) -> Response:
    data = _json()
    state = sandbox_state()
    with state.lock:
        tenant = _tenant(state, number)
        start, end = _date(data.get("FromDate"), "FromDate"), _date(data.get("ToDate"), "ToDate")
        if end < start or any(y.covers(start) or y.covers(end) for y in tenant.financial_years.values()):
            raise AdminError("the year must end after it starts and not overlap another")
        year = tenant.add_financial_year(start, end, list(SERIES))
        return jsonify({"Id": year.id, "FromDate": start.isoformat(), "ToDate": end.isoformat()}), 201


@bp.delete("/tenants/<int:number>/financialyears/<int:year_id>")
def remove_financial_year(number: int, year_id: int) -> Response:
    state = sandbox_state()
    with state.lock:
        tenant = _tenant(state, number)
        if tenant.financial_years.pop(year_id, None) is None:
            raise AdminError(f"no financial year {year_id}")
        for key in [key for key in tenant.series if key[0] == year_id]:
            del tenant.series[key]
        return Response(status=204)


@bp.post("/tenants/<int:number>/licenses")
def set_licenses(number: int) -> Response:
    data = _json()
    state = sandbox_state()
    with state.lock:
        tenant = _tenant(state, number)
        licenses = set(data.get("licenses", []))
        if not licenses <= KNOWN_SCOPES:
            raise AdminError(f"unknown licenses {sorted(licenses - KNOWN_SCOPES)}")
        tenant.licenses = licenses
        return jsonify({"licenses": sorted(licenses)})


def _tenant_arg() -> int | None:
    value = request.args.get("tenant", "")
    return int(value) if value.isdigit() else None


@bp.get("/ledger.json")
def ledger_json() -> Response:
    """``?tenant=100001`` for one company."""
    state = sandbox_state()
    with state.lock:
        return jsonify({"tenants": state.ledger(_tenant_arg())})


@bp.get("/files/<file_id>")
def download_file(file_id: str) -> Response:
    state = sandbox_state()
    with state.lock:
        for tenant in state.tenants.values():
            found = tenant.files.get(file_id)
            if found is not None:
                headers = {"Content-Disposition": f'inline; filename="{found.name}"'}
                return Response(found.data, mimetype=found.content_type, headers=headers)
    return _problem(f"no file {file_id}", 404)


@bp.get("/ledger")
def ledger_page() -> str:
    state = sandbox_state()
    with state.lock:
        tenants = state.ledger(_tenant_arg())
        return ledger_page_html(tenants, state.clock.now().isoformat())
