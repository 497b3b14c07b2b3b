"""Sign-in: passwords hashed with scrypt (werkzeug), a signed session cookie holding the user id, and
``login_required`` for every page. Users are made with ``dagskassa users create`` or by an agency admin;
either way someone else chose the password, so the user must change it at the first sign-in: until then
every page leads to the change-password page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from backoffice import audit
from backoffice.app import db
from backoffice.db import begin_read
from backoffice.i18n import _
from backoffice.models import AGENCY_ADMIN, ROLES, Agency, Store, User, UserStore, utcnow

bp = Blueprint("auth", __name__)
MIN_PASSWORD = 10
#: Checked when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


class UserError(ValueError):
    """A user cannot be made as asked; the message says why."""


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def create_user(
    session: Session,
    email: str,
    password: str,
    role: str,
    agency: Agency,
    stores: list[Store] = (),  # type: ignore[assignment]
    name: str = "",
    actor: User | None = None,
    must_change_password: bool = False,
) -> User:
    """A new user; ``actor`` is the admin who made it (None: the command line). ``must_change_password``
    when someone other than the user chose the password."""
    email = email.strip().lower()
    if "@" not in email:
        raise UserError(f"{email!r} is not an e-mail address")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if role not in ROLES:
        raise UserError(f"{role!r} is not a role (use {', '.join(ROLES)})")
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise UserError(f"{email} already has an account")
    user = User(
        agency_id=agency.id,
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    for store in stores:
        session.add(UserStore(user_id=user.id, store_id=store.id))
    audit.record(
        session,
        actor,
        "user.created",
        None,
        email,
        role=role,
        agency_id=agency.id,
        must_change_password=must_change_password,
    )
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.email == email.strip().lower())).one_or_none()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def current_user() -> User | None:
    return g.get("user")


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if g.user.must_change_password and request.endpoint != "auth.change_password":
            return redirect(url_for("auth.change_password", next=_next_path()))
        return view(*args, **kwargs)

    return wrapped


def _next_path() -> str:
    """Where to go after a detour (sign-in, password change): the page asked for, if it was a GET."""
    return request.full_path.rstrip("?") if request.method == "GET" else ""


def _safe_target(target: str, user: User) -> str:
    # Only a path on this site: never an open redirect.
    if not target.startswith("/") or target.startswith("//"):
        return url_for("agency.overview") if user.role == AGENCY_ADMIN else url_for("stores.index")
    return target


def _load_user() -> None:
    """The signed-in user, read in a read-only transaction: a page shown with GET stays in it (on
    SQLite it never waits for or blocks a writer); any other method ends it, so the view's own
    transaction is a writer from the start."""
    user_id = session.get("uid")
    g.user = None
    if user_id is None:
        return
    database = db()
    begin_read(database)
    g.user = database.get(User, user_id)
    if g.user is not None and not g.user.active:
        g.user = None
    if request.method != "GET":
        database.commit()


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        user = authenticate(db(), request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            flash(_("Wrong e-mail or password."), "error")
            return render_template("login.html", email=request.form.get("email", "")), 401
        session.clear()
        session["uid"] = user.id
        user.last_login_at = utcnow()
        audit.record(db(), user, "user.signed_in")
        db().commit()
        target = _safe_target(request.args.get("next", ""), user)
        if user.must_change_password:
            return redirect(url_for("auth.change_password", next=target))
        return redirect(target)
    return render_template("login.html", email="")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """Anyone signed in changes their own password; one someone else chose must be changed before
    anything else (:attr:`User.must_change_password`), and not to itself."""
    if request.method == "POST":
        current, new = request.form.get("current_password", ""), request.form.get("new_password", "")
        if not check_password_hash(g.user.password_hash, current):
            flash(_("Wrong password."), "error")
        elif new == current:
            flash(_("Choose a new password, not the one you have now."), "error")
        elif len(new) < MIN_PASSWORD:
            flash(_("The new password must have at least {count} characters.", count=MIN_PASSWORD), "error")
        elif new != request.form.get("repeat_password", ""):
            flash(_("The two new passwords differ."), "error")
        else:
            forced = g.user.must_change_password
            g.user.password_hash = hash_password(new)
            g.user.must_change_password = False
            audit.record(db(), g.user, "user.password_changed", None, g.user.email, first_sign_in=forced)
            db().commit()
            flash(_("Your password was changed."), "ok")
            return redirect(_safe_target(request.args.get("next", ""), g.user))
        return render_template("password.html"), 422
    return render_template("password.html")


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    app.before_request(_load_user)
    app.register_blueprint(bp)
