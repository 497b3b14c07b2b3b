"""The accounting system's pages (Fortnox, or Visma eEkonomi): Connect / Reconnect / Disconnect through
OAuth, a switch from one to the other with its start date, importing Fortnox's data for the
pickers, and the preflight page (the agency's "check all now" is a background job: views/agency.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from backoffice import audit
from backoffice.app import db, fortnox
from backoffice.auth import login_required
from backoffice.i18n import _
from backoffice.models import PreflightResult, Store
from backoffice.services import fortnox as service
from backoffice.services.connecting import after_connect
from backoffice.services.mapping import settings_of
from backoffice.services.switching import ConnectRefused, name
from backoffice.views.common import current_store
from exporters.core.errors import DagskassaError, FixData

bp = Blueprint("fortnox", __name__)


def _fail(exc: DagskassaError) -> None:
    if isinstance(exc, ConnectRefused):
        flash(f"{_(exc.text, **exc.values)} — {_(exc.fix_text, **exc.values)}", "error")
        return
    flash(f"{exc.message}" + (f" — {exc.fix}" if exc.fix else ""), "error")


def _start_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text.strip() else None
    except ValueError:
        raise FixData(f"the start date {text!r} is not a date", "write it as YYYY-MM-DD") from None


@bp.post("/stores/<int:store_id>/fortnox/connect", defaults={"provider": "fortnox"})
@bp.post("/stores/<int:store_id>/visma/connect", defaults={"provider": "visma"})
@login_required
def connect(store_id: int, provider: str) -> Any:
    store = current_store(store_id)
    session = db()
    try:
        url = service.start_connect(
            session,
            fortnox(),
            store,
            g.user,
            settings_of(session, store, create=False).invoicing,
            provider,
            _start_date(request.form.get("start_date", "")),
        )
    except DagskassaError as exc:
        session.rollback()
        _fail(exc)
        return redirect(url_for("stores.settings_page", store_id=store.id))
    session.commit()
    return redirect(url)


@bp.get(service.CALLBACK_PATH)
@bp.get(service.CALLBACK_PATHS["visma"])
@login_required
def callback() -> Any:
    session = db()
    session.commit()  # a GET, but it writes: leave the read-only transaction first
    attempt = service.take_attempt(session, g.user, request.args.get("state", ""))
    if attempt is None:
        abort(404)
    store = current_store(attempt.store_id)
    connection = service.connection_row(session, store)
    connection_id, previous = connection.id, connection.provider
    session.commit()  # the attempt is used up, whatever the accounting system answers next
    try:
        company = service.finish_connect(fortnox(), connection_id, attempt, request.url)
    except DagskassaError as exc:
        _fail(exc)
        return redirect(url_for("stores.settings_page", store_id=store.id))
    try:
        data = service.fetch_data(fortnox(), connection_id, service.store_today(store))
    except DagskassaError as exc:  # connected all the same: the import can be run again
        _fail(exc)
        data = None
    connected = after_connect(session, store, g.user, attempt, previous, company, data)
    session.commit()
    system = name(connected.provider)
    flash(_("{system} was connected.", system=system), "ok")
    if connected.switch is not None:
        switch = connected.switch
        flash(
            _(
                "From {day} the days go to {new}; the days before stay in {old}.",
                day=switch.start_date.isoformat(),
                new=system,
                old=name(switch.old),
            ),
            "ok",
        )
        if switch.needs_mapping:
            flash(
                _(
                    "{count} accounts of the mapping are not in {new}'s chart: map them on the Account mapping page.",
                    count=len(switch.needs_mapping),
                    new=system,
                ),
                "error",
            )
    return redirect(url_for("stores.settings_page", store_id=store.id))


@bp.post("/stores/<int:store_id>/fortnox/disconnect")
@login_required
def disconnect(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    service.disconnect(session, fortnox(), store, g.user)
    system = name(service.connection_row(session, store).provider)
    session.commit()
    flash(_("{system} was disconnected.", system=system), "ok")
    return redirect(url_for("stores.settings_page", store_id=store.id))


@bp.post("/stores/<int:store_id>/fortnox/import")
@login_required
def import_data(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    connection = service.connection_row(session, store)
    session.commit()
    try:
        data = service.fetch_data(fortnox(), connection.id, service.store_today(store))
    except DagskassaError as exc:
        _fail(exc)
        return redirect(url_for("stores.settings_page", store_id=store.id))
    service.save_data(session, store, g.user, data)
    session.commit()
    flash(_("Data from {system} imported.", system=name(connection.provider)), "ok")
    return redirect(request.referrer or url_for("stores.settings_page", store_id=store.id))


def _check(store: Store) -> None:
    """Preflight one store: inputs read, transaction ended, Fortnox asked, results saved."""
    session = db()
    given = service.preflight_input(session, store, service.store_today(store))
    session.commit()
    service.save_preflight(session, store.id, service.fetch_preflight(fortnox(), given))
    session.commit()


@bp.route("/stores/<int:store_id>/preflight", methods=["GET", "POST"])
@login_required
def preflight_page(store_id: int) -> Any:
    store = current_store(store_id)
    if request.method == "POST":
        _check(store)
        audit.record(db(), g.user, "preflight.checked", store)
        db().commit()
        return redirect(url_for("fortnox.preflight_page", store_id=store.id))
    return render_template("preflight.html", store=store, result=db().get(PreflightResult, store.id))
