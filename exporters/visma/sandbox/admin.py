"""The sandbox's own pages and admin endpoints under ``/_sandbox/`` (no Visma path starts so), shaped
like the Fortnox sandbox's.

Reading needs nothing: ``GET /_sandbox/ledger`` (HTML: vouchers, rows, attachments), ``ledger.json``,
``/_sandbox/attachments/<id>`` (the file), ``/_sandbox/knobs``, ``/_sandbox/stats``.
Changing needs the header ``X-Sandbox-Admin: 1``, so a client pointed at the wrong base URL never changes
the sandbox by mistake:

- ``POST /_sandbox/knobs``: ``{"latency_ms", "timeout_sleep_s", "seed", "rate_limit": {"enabled", "limit",
  "window_s"}, "faults": [{"kind", "rate", "nth", "method", "path", "status", "times"}]}`` (each key
  optional; ``faults`` replaces the list);
- ``POST /_sandbox/reset``: back to the documented seeds, ``{"seed": n}`` optional;
- ``POST /_sandbox/clock``: ``{"now": "2026-11-20T23:00:00+01:00"}`` or ``{"advance_seconds": 3600}``;
- ``POST /_sandbox/companies/<key>``: what a Visma user changes (see :func:`apply_company_change`).
"""

from __future__ import annotations

import html
import json
from dataclasses import fields
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, abort, request

from exporters.visma.sandbox import api
from exporters.visma.sandbox.seed import seeded_state
from exporters.visma.sandbox.state import Company, Fault, Knobs, SandboxState

bp = Blueprint("visma_sandbox_admin", __name__, url_prefix="/_sandbox")

ADMIN_HEADER = "X-Sandbox-Admin"


@bp.before_request
def guard() -> Response | None:
    if request.method != "GET" and request.headers.get(ADMIN_HEADER) != "1":
        return _json(
            {"error": f"sandbox admin endpoints change state only with the header {ADMIN_HEADER}: 1"}, 403
        )
    return None


def _state() -> SandboxState:
    return api.sandbox_state()


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=str), status=status, mimetype="application/json")


@bp.get("/knobs")
def get_knobs() -> Response:
    return _json(_state().knobs.to_dict())


@bp.post("/knobs")
def set_knobs() -> Response:
    """``{"latency_ms", "timeout_sleep_s", "rate_limit": {"enabled", "limit", "window_s"}, "seed",
    "faults": [{"kind", "nth", "rate", "method", "path", "status", "times"}]}``; ``faults`` replaces the list."""
    state = _state()
    body = request.get_json(force=True) or {}
    with state.lock:
        knobs: Knobs = state.knobs
        try:
            for name in ("latency_ms", "timeout_sleep_s"):
                if name in body:
                    setattr(knobs, name, float(body[name]))
            limit = body.get("rate_limit") or {}
            knobs.rate_limit_enabled = bool(limit.get("enabled", knobs.rate_limit_enabled))
            knobs.rate_limit = int(limit.get("limit", knobs.rate_limit))
            knobs.rate_window_s = float(limit.get("window_s", knobs.rate_window_s))
            if "seed" in body:
                knobs.reseed(int(body["seed"]))
            if "faults" in body:
                allowed = {f.name for f in fields(Fault)} - {"seen", "fired"}
                faults = [Fault(**{k: v for k, v in spec.items() if k in allowed}) for spec in body["faults"]]
                knobs.faults[:] = faults
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(knobs.to_dict())


@bp.post("/clock")
def move_clock() -> Response:
    """``{"advance_seconds": 3600}`` or ``{"now": "2026-11-21T09:00:00+01:00"}``."""
    state = _state()
    body = request.get_json(force=True) or {}
    with state.lock:
        if "advance_seconds" in body:
            state.clock.advance(float(body["advance_seconds"]))
        if "now" in body:
            state.clock.set(datetime.fromisoformat(body["now"]))
        return _json({"now": state.clock.now().isoformat()})


@bp.post("/companies/<key>")
def change_company(key: str) -> Response:
    """``{"api_module_active": false, "accounting_locked_to": "2026-03-31" | null,
    "fiscal_year_locked": {"date": "2026-03-14", "locked": true},
    "account": {"date": "...", "number": 3001, "is_active": false, ...},
    "cost_center_item": {"short_name": "KRO", "is_active": false}}`` — what a Visma user changes."""
    state = _state()
    body = request.get_json(force=True) or {}
    with state.lock:
        company = state.companies.get(key) or abort(404)
        try:
            apply_company_change(company, body)
        except (KeyError, ValueError) as exc:
            return _json({"error": f"cannot apply: {exc}"}, 400)
        return _json({"company": key, "settings": api.company_settings(company)})


def apply_company_change(company: Company, body: dict[str, Any]) -> None:
    if "api_module_active" in body:
        company.api_module_active = bool(body["api_module_active"])
    if "accounting_locked_to" in body:
        locked = body["accounting_locked_to"]
        company.accounting_locked_to = date.fromisoformat(locked) if locked else None
    if "fiscal_year_locked" in body:
        change = body["fiscal_year_locked"]
        year = company.year_for(date.fromisoformat(change["date"]))
        if year is None:
            raise KeyError(f"no fiscal year covers {change['date']}")
        year.is_locked_for_accounting = bool(change["locked"])
    if "account" in body:
        change = dict(body["account"])
        year = company.year_for(date.fromisoformat(change.pop("date")))
        if year is None:
            raise KeyError("no fiscal year covers that date")
        account = company.accounts[(year.id, int(change.pop("number")))]
        for name, value in change.items():
            if not hasattr(account, name):
                raise KeyError(name)
            setattr(account, name, value)
    if "cost_center_item" in body:
        change = dict(body["cost_center_item"])
        short_name = change.pop("short_name")
        items = [i for c in company.cost_centers.values() for i in c.items if i.short_name == short_name]
        if not items:
            raise KeyError(f"no cost center item {short_name}")
        items[0].is_active = bool(change.get("is_active", items[0].is_active))


@bp.post("/reset")
def reset() -> Response:
    """Back to the documented seeds (companies, users, tokens, knobs); the clock keeps its offset."""
    state = _state()
    body = request.get_json(silent=True) or {}
    fresh = seeded_state(int(body.get("seed", state.knobs.seed)))
    with state.lock:
        for name in (
            "companies",
            "clients",
            "users",
            "auth_codes",
            "access_tokens",
            "refresh_tokens",
            "knobs",
            "stats",
        ):
            setattr(state, name, getattr(fresh, name))
        state.clear_rate_windows()
        return _json({"reset": True, "seed": state.knobs.seed})


@bp.get("/stats")
def stats() -> Response:
    return _json(_state().stats)


@bp.get("/ledger.json")
def ledger_json() -> Response:
    state = _state()
    with state.lock:
        return _json(state.ledger())


@bp.get("/attachments/<attachment_id>")
def download_attachment(attachment_id: str) -> Response:
    state = _state()
    with state.lock:
        for company in state.companies.values():
            attachment = company.attachments.get(attachment_id)
            if attachment is not None:
                headers = {"Content-Disposition": f'inline; filename="{attachment.file_name}"'}
                return Response(attachment.data, mimetype=attachment.content_type, headers=headers)
    abort(404)


@bp.get("/ledger")
def ledger_page() -> Response:
    state = _state()
    with state.lock:
        ledger = state.ledger()
    parts = [
        "<!doctype html><html lang='sv'><head><meta charset='utf-8'><title>Visma sandbox – ledger</title>",
        "<style>td,th{padding:2px 8px}td.n{text-align:right}</style></head><body><h1>Visma sandbox</h1>",
    ]
    for company in ledger:
        parts.append(f"<h2>{html.escape(company['name'])} ({html.escape(company['org_number'])})</h2>")
        if not company["vouchers"]:
            parts.append("<p>No vouchers.</p>")
        for voucher in company["vouchers"]:
            parts.append(
                f"<section class='voucher' id='v-{voucher['id']}'><h3>{html.escape(voucher['number'])} "
                f"{voucher['date']} {html.escape(voucher['text'])}</h3><table><tr><th>Konto</th><th>Debet</th>"
                "<th>Kredit</th><th>Text</th></tr>"
            )
            for row in voucher["rows"]:
                parts.append(
                    f"<tr><td>{row['account']}</td><td class='n'>{row['debit']}</td>"
                    f"<td class='n'>{row['credit']}</td><td>{html.escape(row['text'])}</td></tr>"
                )
            parts.append("</table>")
            for attachment in voucher["attachments"]:
                parts.append(
                    f"<p class='attachment'>Bilaga: <a href='{attachment['url']}'>"
                    f"{html.escape(attachment['file_name'])}</a> ({attachment['size']} bytes)</p>"
                )
            parts.append("</section>")
    parts.append("</body></html>")
    return Response("".join(parts), mimetype="text/html")
