"""The agency overview: every store in one table, with its preflight, connection and last export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request
from markupsafe import Markup, escape

from backoffice.app import db
from backoffice.auth import login_required
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
    )
