"""The exports page: each day's Z-report, its voucher preview, state and error, and the actions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backoffice.app import db
from backoffice.auth import login_required
from backoffice.i18n import _
from backoffice.models import Export, RefusedReport, ZReportRecord
from backoffice.notify import refused as refused_reports
from backoffice.pipeline import attachments
from backoffice.pipeline.corrections import correct
from backoffice.services import day_claims, exports, sie_instead
from backoffice.views.common import current_store

bp = Blueprint("exports", __name__, url_prefix="/stores/<int:store_id>/exports")


@bp.get("/")
@login_required
def index(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    records = session.scalars(
        select(ZReportRecord)
        .where(ZReportRecord.store_id == store.id)
        .options(selectinload(ZReportRecord.exports), selectinload(ZReportRecord.register))
        .order_by(ZReportRecord.business_date.desc(), ZReportRecord.id.desc())
        .limit(200)
    ).all()
    refused = session.scalars(
        select(RefusedReport)
        .where(RefusedReport.store_id == store.id)
        .order_by(RefusedReport.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "exports.html",
        store=store,
        records=records,
        refused=refused,
        sie_instead_from=sie_instead.SIE_INSTEAD_FROM,
    )


def _record(store_id: int, z_report_id: int) -> tuple[Any, ZReportRecord]:
    store = current_store(store_id)
    record = (
        db()
        .scalars(
            select(ZReportRecord).where(ZReportRecord.id == z_report_id, ZReportRecord.store_id == store.id)
        )
        .one_or_none()
    )
    if record is None:
        abort(404)
    return store, record


@bp.get("/<int:z_report_id>")
@login_required
def detail(store_id: int, z_report_id: int) -> Any:
    store, record = _record(store_id, z_report_id)
    session = db()
    voucher, error = exports.preview(session, store, record)
    return render_template(
        "export_detail.html",
        store=store,
        record=record,
        voucher=voucher,
        error=error,
        claim=day_claims.claim_of(session, store.id, record.business_date),
        holders=day_claims.HOLDERS,
        sie_instead_from=sie_instead.SIE_INSTEAD_FROM,
    )


ACTIONS = {"send_now", "resend", "mark_booked", "correct", "attach_again", "sie_instead"}


@bp.post("/<int:z_report_id>/<action>")
@login_required
def act(store_id: int, z_report_id: int, action: str) -> Any:
    store, record = _record(store_id, z_report_id)
    if action not in ACTIONS or not record.exports:
        abort(404)
    session = db()
    export: Export = record.exports[0]
    # Read again under the row lock (PostgreSQL; SQLite's write turn already covers the request): the
    # sweep or a worker cannot move the export between the action's check of its state and the change.
    session.refresh(export, with_for_update=True)
    if action == "send_now":
        refused = exports.send_now(session, store, g.user, export)
        flash(refused if refused else _("Queued for posting."), "error" if refused else "ok")
    elif action == "resend":
        refused = exports.resend(session, store, g.user, export)
        flash(refused if refused else _("Queued for posting."), "error" if refused else "ok")
    elif action == "attach_again":
        queued = attachments.retry(session, export, g.user, datetime.now(UTC))
        flash(_("The Z-report will be attached again.") if queued else _("Nothing to attach."), "ok")
    elif action == "sie_instead":
        refused = sie_instead.book_as_sie(session, store, g.user, export)
        if refused:
            session.rollback()
        flash(
            refused
            if refused
            else _("The day goes to the books through a SIE file: export it on the SIE files page."),
            "error" if refused else "ok",
        )
    elif action == "correct":
        refused = correct(session, store, g.user, export, datetime.now(UTC))
        flash(
            refused if refused else _("Correction queued: a reversal and a new voucher."),
            "error" if refused else "ok",
        )
    else:
        refused = exports.mark_booked(session, store, g.user, export)
        flash(refused if refused else _("Marked as booked."), "error" if refused else "ok")
    session.commit()
    return redirect(url_for("exports.detail", store_id=store.id, z_report_id=record.id))


@bp.post("/refused/<int:refused_id>/dismiss")
@login_required
def dismiss_refused(store_id: int, refused_id: int) -> Any:
    """The manager has looked at a refused Z-report: it waits no more (its alert resolves with it)."""
    store = current_store(store_id)
    session = db()
    refused = session.scalars(
        select(RefusedReport).where(RefusedReport.id == refused_id, RefusedReport.store_id == store.id)
    ).one_or_none()
    if refused is None:
        abort(404)
    if refused_reports.dismiss(session, store, g.user, refused):
        session.commit()
        flash(_("The refused report was dismissed."), "ok")
    return redirect(url_for("exports.index", store_id=store.id))


@bp.post("/post-missing")
@login_required
def post_missing(store_id: int) -> Any:
    store = current_store(store_id)
    try:
        since = date.fromisoformat(request.form.get("since", ""))
    except ValueError:
        flash(_("Date") + ": " + "write YYYY-MM-DD", "error")
        return redirect(url_for("exports.index", store_id=store.id))
    session = db()
    count = exports.post_missing_since(session, store, g.user, since)
    session.commit()
    flash(f"{count} " + _("days queued."), "ok")
    return redirect(url_for("exports.index", store_id=store.id))
