"""The notification settings page: what each user is told and for which stores, the agency admin's
daily digest, and the agency's webhook."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from backoffice.access import visible_stores
from backoffice.app import db, fortnox
from backoffice.auth import login_required
from backoffice.models import Store
from backoffice.notify import agency_webhooks, preferences
from backoffice.notify.texts import KINDS, say
from config.settings import SettingsError

bp = Blueprint("notify", __name__, url_prefix="/notifications", template_folder="templates")


def t(text: str, **values: Any) -> str:
    return say(text, g.get("lang", "sv"), **values)


def _page(secret: str | None = None) -> Any:
    session = db()
    user = g.user
    hook = agency_webhooks.of(session, user.agency_id) if user.is_agency_admin else None
    return render_template(
        "notify/settings.html",
        t=t,
        kinds=KINDS,
        choice=preferences.of(session, user),
        stores=session.scalars(visible_stores(user).order_by(Store.name)).all(),
        hook=hook,
        pending=agency_webhooks.pending(session, user.agency_id) if hook else 0,
        secret=secret,
    )


@bp.get("/")
@login_required
def settings_page() -> Any:
    return _page()


@bp.post("/")
@login_required
def save_preferences() -> Any:
    form = request.form
    store_ids = None
    if form.get("scope") == "some":
        store_ids = {int(value) for value in form.getlist("stores") if value.isdigit()}
    session = db()
    preferences.save(session, g.user, set(form.getlist("kinds")), store_ids, form.get("digest") == "on")
    session.commit()
    flash(t("Saved."), "ok")
    return redirect(url_for("notify.settings_page"))


@bp.post("/webhook")
@login_required
def save_webhook() -> Any:
    if not g.user.is_agency_admin:
        abort(404)
    session = db()
    if request.form.get("action") == "remove":
        agency_webhooks.remove(session, g.user)
        session.commit()
        flash(t("The webhook was removed."), "ok")
        return redirect(url_for("notify.settings_page"))
    try:
        secret = agency_webhooks.save(
            session,
            g.user,
            request.form.get("url", ""),
            fortnox().cipher,
            request.form.get("action") == "new_secret",
            fortnox().settings.notify.webhook_private_addresses,
        )
    except SettingsError as exc:  # no encryption key to keep the secret with
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("notify.settings_page"))
    except agency_webhooks.PrivateAddress as exc:
        session.rollback()
        flash(
            t(
                "The address reaches {address}, inside the network Dagskassa runs in: webhooks go to public "
                "addresses only (the operator may allow internal ones with notify.webhook_private_addresses).",
                address=exc.address,
            ),
            "error",
        )
        return redirect(url_for("notify.settings_page"))
    except ValueError:
        session.rollback()
        flash(t("The address must start with https:// or http://."), "error")
        return redirect(url_for("notify.settings_page"))
    session.commit()
    if secret is None:
        flash(t("Saved."), "ok")
        return redirect(url_for("notify.settings_page"))
    return _page(secret)  # shown this once, not redirected to a page that could show it again
