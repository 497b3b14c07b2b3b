"""A store's pages: overview, integration settings, account mapping, registers, audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from backoffice.access import visible_stores
from backoffice.app import db
from backoffice.auth import login_required
from backoffice.i18n import _
from backoffice.models import AuditEntry, FortnoxAccount, Register, Store
from backoffice.services import mapping as mapping_service
from backoffice.services import overview, registers, switching, sync_settings
from backoffice.services.mapping import settings_of
from backoffice.views.common import current_store, flash_problems
from exporters.core.zreport import VAT_RATES

bp = Blueprint("stores", __name__)


@bp.get("/")
@login_required
def index() -> Any:
    stores = db().scalars(visible_stores(g.user).order_by(Store.name)).all()
    if len(stores) == 1 and not g.user.is_agency_admin:
        return redirect(url_for("stores.overview_page", store_id=stores[0].id))
    return render_template("stores.html", stores=stores)


@bp.get("/stores/<int:store_id>/")
@login_required
def overview_page(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    connection = overview.store_connection(session, store)
    status = overview.connection_status(
        connection.status if connection else None,
        connection.refresh_issued_at if connection else None,
        overview.utcnow(),
    )
    return render_template(
        "store_overview.html",
        store=store,
        connection=connection,
        status=status,
        status_label=overview.STATUS_LABELS[status],
        days=overview.last_days(session, store),
        alerts=overview.open_alerts(session, store),
        yesterday_missing=overview.yesterday_missing(session, store),
        first_run=overview.first_run_steps(session, store),
        systems=switching.NAMES,
    )


@bp.route("/stores/<int:store_id>/settings", methods=["GET", "POST"])
@login_required
def settings_page(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    if request.method == "POST":
        problems = sync_settings.save_settings(session, store, g.user, request.form)
        if problems:
            session.rollback()
            flash_problems(problems)
        else:
            session.commit()
            flash(_("Saved."), "ok")
            return redirect(url_for("stores.settings_page", store_id=store.id))
    series, centers = sync_settings.choices(session, store)
    return render_template(
        "settings.html",
        store=store,
        settings=settings_of(session, store, create=False),
        series=series,
        centers=centers,
        connection=overview.store_connection(session, store),
        systems=switching.NAMES,
        first_start=switching.first_start_date(session, store),
    )


@bp.route("/stores/<int:store_id>/mapping", methods=["GET", "POST"])
@login_required
def mapping_page(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    if request.method == "POST":
        form = dict(request.form)
        group, rate, account = (form.pop(k, "").strip() for k in ("new_group", "new_rate", "new_account"))
        if group and account:
            form[f"acct:product_groups:{group}|{rate or '*'}"] = account
        problems = mapping_service.save_mapping(session, store, g.user, form)
        if problems:
            session.rollback()
            flash_problems(problems)
        else:
            session.commit()
            flash(_("Saved."), "ok")
            return redirect(url_for("stores.mapping_page", store_id=store.id))
    chart = session.scalars(
        select(FortnoxAccount).where(FortnoxAccount.store_id == store.id).order_by(FortnoxAccount.number)
    ).all()
    return render_template(
        "mapping.html",
        store=store,
        rows=mapping_service.mapping_rows(session, store),
        chart=chart,
        vat_rates=VAT_RATES,
    )


@bp.get("/stores/<int:store_id>/registers")
@login_required
def registers_page(store_id: int) -> Any:
    store = current_store(store_id)
    rows = (
        db()
        .scalars(select(Register).where(Register.store_id == store.id).order_by(Register.register_key))
        .all()
    )
    return render_template("registers.html", store=store, registers=rows, new_code=None)


@bp.post("/stores/<int:store_id>/registers/code")
@login_required
def new_enrollment_code(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    code, row = registers.create_enrollment_code(session, store, g.user)
    session.commit()
    rows = session.scalars(
        select(Register).where(Register.store_id == store.id).order_by(Register.register_key)
    ).all()
    return render_template(
        "registers.html", store=store, registers=rows, new_code=code, expires_at=row.expires_at
    )


@bp.post("/stores/<int:store_id>/registers/<int:register_id>/revoke")
@login_required
def revoke_register(store_id: int, register_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    register = session.scalars(
        select(Register).where(Register.id == register_id, Register.store_id == store.id)
    ).one_or_none()
    if register is None:
        abort(404)
    registers.revoke(session, register, g.user)
    session.commit()
    return redirect(url_for("stores.registers_page", store_id=store.id))


@bp.get("/stores/<int:store_id>/audit")
@login_required
def audit_page(store_id: int) -> Any:
    store = current_store(store_id)
    entries = (
        db()
        .scalars(
            select(AuditEntry)
            .where(AuditEntry.store_id == store.id)
            .order_by(AuditEntry.id.desc())
            .limit(200)
        )
        .all()
    )
    return render_template("audit.html", store=store, entries=entries)
