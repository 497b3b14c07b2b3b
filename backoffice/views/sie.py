"""A store's SIE page: export chosen days as a SIE 4I file (layer 1 claims them for SIE), and check a SIE
file before importing it (layer 3 lists each #VER that books a day Dagskassa already posted)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, flash, g, render_template, request
from flask.sansio.blueprints import BlueprintSetupState

from backoffice.app import db
from backoffice.auth import login_required
from backoffice.i18n import _
from backoffice.services import day_claims, sie_files
from backoffice.views.common import current_store
from exporters.core.errors import FixData
from exporters.sie import SieError

bp = Blueprint("sie", __name__)

#: The largest SIE file the check takes (a big store's year is a few MB; a bureau's, tens).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@bp.record_once
def _upload_checks_csrf_itself(state: BlueprintSetupState) -> None:
    # CSRF is checked before the view runs, and reading the form there would apply the app's 1 MB body
    # limit; the upload view raises its limit first and then checks the token itself (check_file).
    csrf = state.app.extensions["csrf"]
    csrf.exempt(f"{__name__}.check_file")


def _page(store: Any, report: Any = None, filename: str = "", status: int = 200) -> Any:
    session = db()
    last_sie = day_claims.last_claimed_day(session, store.id, day_claims.SIE)
    return render_template(
        "sie.html",
        store=store,
        report=report,
        filename=filename,
        last_sie=last_sie,
        by_hand=day_claims.claims_of(session, store.id, day_claims.MANUAL),
        max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
    ), status


@bp.get("/stores/<int:store_id>/sie")
@login_required
def index(store_id: int) -> Any:
    return _page(current_store(store_id))


@bp.post("/stores/<int:store_id>/sie/export")
@login_required
def export_file(store_id: int) -> Any:
    store = current_store(store_id)
    session = db()
    try:
        start, end = (_date(request.form.get(name, ""), name) for name in ("start", "end"))
        content, days = sie_files.export_sie(
            session,
            store,
            g.user,
            sie_files.day_range(start, end),
            generated=date.today(),
            checksum=request.form.get("checksum") == "on",
        )
    except FixData as exc:
        session.rollback()
        flash(f"{exc.message} — {exc.fix}", "error")
        return _page(store, status=422)
    session.commit()
    name = f"dagskassa-{store.org_number}-{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.se"
    return Response(
        content,
        mimetype="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/stores/<int:store_id>/sie/check")
@login_required
def check_file(store_id: int) -> Any:
    request.max_content_length = MAX_UPLOAD_BYTES
    current_app.extensions["csrf"].protect()
    store = current_store(store_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a SIE file to check."), "error")
        return _page(store, status=422)
    try:
        report = sie_files.check_sie_upload(db(), store, upload.stream)
    except SieError as exc:
        flash(f"{upload.filename}: {exc.message} — {exc.fix}", "error")
        return _page(store, filename=upload.filename, status=422)
    finally:
        db().rollback()
        upload.close()  # a large upload is a temporary file
    return _page(store, report, upload.filename)


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FixData(f"{name} {text!r} is not a date", "write it as YYYY-MM-DD") from None


@bp.errorhandler(413)
def too_large(_exc: Exception) -> Any:
    flash(_("The file is larger than {mb} MB.", mb=MAX_UPLOAD_BYTES // (1024 * 1024)), "error")
    return _page(current_store(request.view_args["store_id"]), status=413)
