"""The agency admin's page for stores and users: add a store, invite a user (a temporary password shown
once), choose a manager's stores, deactivate or reactivate a user. A store manager does not see it
(404, as for anything not theirs)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from backoffice.app import db
from backoffice.auth import login_required
from backoffice.i18n import _
from backoffice.models import ROLES
from backoffice.services import people
from backoffice.views.common import flash_problems

bp = Blueprint("people", __name__, url_prefix="/agency/people")


@bp.before_request
@login_required
def _agency_admins_only() -> Any:
    if not g.user.is_agency_admin:
        abort(404)
    return None


def _page(status: int = 200, **extra: Any) -> Any:
    session = db()
    users = people.agency_users(session, g.user)
    return render_template(
        "people.html",
        stores=people.agency_stores(session, g.user),
        users=users,
        managed=people.managed_store_ids(session, users),
        roles=ROLES,
        timezones=people.TIMEZONES,
        form=request.form if request.method == "POST" else {},
        **extra,
    ), status


@bp.get("/")
def index() -> Any:
    return _page()


@bp.post("/stores")
def add_store() -> Any:
    session = db()
    store = people.add_store(session, g.user, request.form)
    if isinstance(store, list):
        session.rollback()
        flash_problems(store)
        return _page(422, open_form="store")
    session.commit()
    flash(_("Store {name} was added.", name=store.name), "ok")
    return redirect(url_for("people.index"))


@bp.post("/")
def invite() -> Any:
    session = db()
    invited = people.invite_user(session, g.user, request.form, request.form.getlist("stores"))
    if isinstance(invited, list):
        session.rollback()
        flash_problems(invited)
        return _page(422, open_form="user")
    session.commit()
    # Rendered, not redirected: the password is shown this once and never stored in a cookie.
    return _page(201, invited=invited)


@bp.post("/<int:user_id>/stores")
def set_stores(user_id: int) -> Any:
    session = db()
    user = people.user_or_404(session, g.user, user_id)
    problems = people.set_stores(session, g.user, user, request.form.getlist("stores"))
    return _finish(problems, _("The stores of {email} were saved.", email=user.email))


@bp.post("/<int:user_id>/active")
def set_active(user_id: int) -> Any:
    session = db()
    user = people.user_or_404(session, g.user, user_id)
    active = request.form.get("active") == "1"
    problems = people.set_active(session, g.user, user, active)
    message = (
        _("{email} can sign in again.", email=user.email)
        if active
        else _("{email} was deactivated.", email=user.email)
    )
    return _finish(problems, message)


def _finish(problems: list, message: str) -> Any:
    session = db()
    if problems:
        session.rollback()
        flash_problems(problems)
    else:
        session.commit()
        flash(message, "ok")
    return redirect(url_for("people.index"))
