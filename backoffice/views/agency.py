"""The agency overview: every store in one table, with its preflight, connection and last export, and
"check all now", which queues a background job (:mod:`backoffice.services.background`) whose progress
the page shows as it runs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from backoffice.app import db
from backoffice.auth import login_required
from backoffice.i18n import _
from backoffice.services import background
from backoffice.services.overview import STATUS_LABELS, agency_rows
from exporters.fortnox.preflight import CHECKS

bp = Blueprint("agency", __name__, url_prefix="/agency")


@bp.app_template_filter("check_cells")
def check_cells(cells: tuple[tuple[str, str, str], ...]) -> Markup:
    """A row's check cells as HTML at once: a thousand rows of eight cells through Jinja's per-value
    machinery is most of the page's time."""
    return Markup(
        "".join(
            f'<td class="pf {css}" title="{escape(evidence)}">{mark}</td>' for css, mark, evidence in cells
        )
    )


@bp.app_template_filter("thousands")
def thousands(number: int) -> str:
    """A count as the reader writes it: 1 000 in Swedish, 1,000 in English."""
    return f"{number:,}".replace(",", "\u00a0" if g.get("lang") == "sv" else ",")


@bp.get("/")
@login_required
def overview() -> Any:
    sort = request.args.get("sort", "name")
    descending = request.args.get("dir") == "desc"
    text = request.args.get("q", "").strip()
    problems_only = request.args.get("problems") == "1"
    rows = agency_rows(db(), g.user, CHECKS, sort, descending, text, problems_only)
    return render_template(
        "agency.html",
        rows=rows,
        checks=CHECKS,
        sort=sort,
        descending=descending,
        q=text,
        problems_only=problems_only,
        status_labels=STATUS_LABELS,
        job=background.latest(db(), g.user.agency_id) if g.user.is_agency_admin else None,
    )


def _admin_only() -> None:
    if not g.user.is_agency_admin:
        abort(404)


@bp.post("/check-all")
@login_required
def check_all() -> Any:
    """Queue a preflight of every store; a second click while one runs finds it instead."""
    _admin_only()
    _job, created = background.request_check_all(db(), g.user)
    db().commit()
    if created:
        flash(_("Every store will be checked in the background; the results appear here as they come."), "ok")
    else:
        flash(_("A check of all stores is already running."), "ok")
    return redirect(url_for("agency.overview"))


@bp.get("/check-all/status")
@login_required
def check_all_status() -> Any:
    """The newest check-all job as JSON, polled by the overview while it runs."""
    _admin_only()
    job = background.latest(db(), g.user.agency_id)
    return jsonify(background.status(db(), job) if job is not None else {"state": None})
