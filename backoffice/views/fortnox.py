"""Fortnox pages: Connect / Reconnect / Disconnect through OAuth, importing Fortnox's data for the
pickers, the preflight page and the agency's "check all now"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from backoffice import audit
from backoffice.access import visible_stores
from backoffice.app import db, fortnox
from backoffice.auth import login_required
from backoffice.i18n import _
from backoffice.models import PreflightResult, Store
from backoffice.services import fortnox as service
from backoffice.services.mapping import settings_of
from backoffice.views.common import current_store
from exporters.core.errors import DagskassaError

bp = Blueprint("fortnox", __name__)


def _fail(exc: DagskassaError) -> None:
    flash(f"{exc.message}" + (f" — {exc.fix}" if exc.fix else ""), "error")


@bp.post("/stores/<int:store_id>/fortnox/connect")
@login_required
def connect(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    url = service.start_connect(
        session, fortnox(), store, g.user, settings_of(session, store, create=False).invoicing
    )
    session.commit()
    return redirect(url)


@bp.get(service.CALLBACK_PATH)
@login_required
def callback() -> Any:
    session = db()
    session.commit()  # a GET, but it writes: leave the read-only transaction first
    attempt = service.take_attempt(session, g.user, request.args.get("state", ""))
    if attempt is None:
        abort(404)
    store = current_store(attempt.store_id)
    connection = service.connection_row(session, store)
    session.commit()  # the attempt is used up, whatever Fortnox answers next
    try:
        company = service.finish_connect(fortnox(), connection.id, attempt, request.url)
        data = service.fetch_data(fortnox(), connection.id, service.store_today(store))
    except DagskassaError as exc:
        _fail(exc)
        return redirect(url_for("stores.settings_page", store_id=store.id))
    connection = service.connection_row(session, store)
    connection.tenant_id, connection.company_name = company["tenant_id"], company["company_name"]
    connection.company_org_number, connection.connected_by_id = company["org_number"], g.user.id
    service.save_data(session, store, g.user, data)
    audit.record(
        session, g.user, "fortnox.connected", store, company["company_name"], tenant=company["tenant_id"]
    )
    session.commit()
    flash(_("Fortnox was connected."), "ok")
    return redirect(url_for("stores.settings_page", store_id=store.id))


@bp.post("/stores/<int:store_id>/fortnox/disconnect")
@login_required
def disconnect(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    service.disconnect(session, fortnox(), store, g.user)
    session.commit()
    flash(_("Fortnox was disconnected."), "ok")
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
    flash(_("Fortnox data imported."), "ok")
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


@bp.post("/agency/check-all")
@login_required
def check_all() -> Any:
    if not g.user.is_agency_admin:
        abort(404)
    for store in db().scalars(visible_stores(g.user).order_by(Store.id)).all():
        _check(store)
    return redirect(request.referrer or url_for("agency.overview"))
