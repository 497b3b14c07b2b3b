"""The Visma sandbox as a WSGI app: ``create_app(state)``, its fault knobs, the ``/_sandbox/`` pages, and
an httpx transport that mounts it in process.

Faults happen at the network's edge, where a real client would meet them (as in the Fortnox sandbox).
Over real HTTP (``dagskassa visma-sandbox`` or :class:`SandboxServer`) a ``drop`` shuts the socket without
an answer and a ``timeout`` holds the request ``timeout_sleep_s`` first. Mounted in process
(``httpx.WSGITransport``) there is no socket, so the sandbox raises what httpx would have raised:
``httpx.RemoteProtocolError`` or, at once, ``httpx.ReadTimeout``. Either way the client under test runs
the very code path it runs against Visma.
"""

from __future__ import annotations

import contextlib
import html
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import date, datetime
from typing import Any

import httpx
from flask import Blueprint, Flask, Response, abort, request
from werkzeug.serving import make_server

from exporters.visma.sandbox import api, identity, vouchers  # noqa: F401 - vouchers adds its views to api.bp
from exporters.visma.sandbox.api import INTERNAL_SERVER_ERROR, error_response, rate_limited
from exporters.visma.sandbox.seed import seeded_state
from exporters.visma.sandbox.state import Company, Fault, Knobs, SandboxState

admin = Blueprint("visma_sandbox_admin", __name__, url_prefix="/_sandbox")


def create_app(state: SandboxState) -> Flask:
    app = Flask(__name__)
    app.extensions["visma_sandbox"] = state
    app.register_blueprint(identity.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin)
    app.wsgi_app = FaultMiddleware(app.wsgi_app, state)  # type: ignore[method-assign]
    return app


class FaultMiddleware:
    """Latency and injected faults for ``/v2/`` and ``/connect/`` requests."""

    def __init__(self, app: Callable, state: SandboxState) -> None:
        self.app = app
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(("/v2/", "/connect/")):
            return self.app(environ, start_response)
        state = self.state
        if state.knobs.latency_ms:
            time.sleep(state.knobs.latency_ms / 1000)
        with state.lock:
            fault = state.pick_fault(environ["REQUEST_METHOD"], path)
        if fault is None:
            return self.app(environ, start_response)
        if fault.kind == "5xx":
            return _respond(
                error_response(fault.status, INTERNAL_SERVER_ERROR, "An error has occurred."),
                environ,
                start_response,
            )
        if fault.kind == "429":
            return _respond(rate_limited(55, state.knobs.rate_limit), environ, start_response)
        if fault.kind == "store_then_drop":
            for _chunk in self.app(environ, lambda *args, **kwargs: None):
                pass
        if fault.kind == "timeout":
            if environ.get("werkzeug.socket") is None:
                raise httpx.ReadTimeout("Visma sandbox: no answer in time (injected timeout)")
            time.sleep(state.knobs.timeout_sleep_s)
        _drop(environ)
        raise AssertionError("unreachable")  # _drop always raises


def _respond(response: Response, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    return response(environ, start_response)


def _drop(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats a ConnectionError as "the client went away" and writes nothing more.
    raise ConnectionAbortedError("Visma sandbox: connection dropped on purpose")


class SandboxServer:
    """``with SandboxServer() as sandbox: httpx.get(sandbox.base_url + "/_sandbox/ledger.json")``.

    Threaded werkzeug on ``host:port`` (port 0 picks a free one); ``state`` is the seeded sandbox unless
    one is given, and stays reachable for the test to turn knobs or read the ledger."""

    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state if state is not None else seeded_state()
        self._server = make_server(host, port, create_app(self.state), threaded=True)
        self.base_url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="visma-sandbox", daemon=True
        )

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- /_sandbox/: knobs, clock, companies, the ledger ------------------------------------------------------


def _state() -> SandboxState:
    return api.sandbox_state()


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=str), status=status, mimetype="application/json")


@admin.get("/knobs")
def get_knobs() -> Response:
    return _json(_state().knobs.to_dict())


@admin.post("/knobs")
def set_knobs() -> Response:
    """``{"latency_ms", "timeout_sleep_s", "rate_limit": {"enabled", "limit", "window_s"}, "seed",
    "faults": [{"kind", "nth", "rate", "method", "path", "status", "times"}], "clear_faults": true}``."""
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
            if body.get("clear_faults"):
                knobs.faults.clear()
            allowed = {f.name for f in fields(Fault)} - {"seen", "fired"}
            for spec in body.get("faults") or []:
                knobs.add_fault(**{k: v for k, v in spec.items() if k in allowed})
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(knobs.to_dict())


@admin.post("/clock")
def move_clock() -> Response:
    """``{"advance_seconds": 3600}`` or ``{"set": "2026-11-21T09:00:00+01:00"}``."""
    state = _state()
    body = request.get_json(force=True) or {}
    with state.lock:
        if "advance_seconds" in body:
            state.clock.advance(float(body["advance_seconds"]))
        if "set" in body:
            state.clock.set(datetime.fromisoformat(body["set"]))
        return _json({"now": state.clock.now().isoformat()})


@admin.post("/companies/<key>")
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


@admin.get("/stats")
def stats() -> Response:
    return _json(_state().stats)


@admin.get("/ledger.json")
def ledger_json() -> Response:
    state = _state()
    with state.lock:
        return _json(state.ledger())


@admin.get("/attachments/<attachment_id>")
def download_attachment(attachment_id: str) -> Response:
    state = _state()
    with state.lock:
        for company in state.companies.values():
            attachment = company.attachments.get(attachment_id)
            if attachment is not None:
                headers = {"Content-Disposition": f'inline; filename="{attachment.file_name}"'}
                return Response(attachment.data, mimetype=attachment.content_type, headers=headers)
    abort(404)


@admin.get("/ledger")
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
