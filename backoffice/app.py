"""The app factory: settings in, a Flask app out, with the database, CSRF, sign-in, the pages and the
register API attached. Nothing is read from the environment here; ``dagskassa serve`` loads the settings
once and passes them in, and tests pass their own."""

from __future__ import annotations

from typing import Any

import httpx
from flask import Flask, current_app, g
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backoffice.db import make_engine, make_sessionmaker
from backoffice.operations import endpoint as operations
from backoffice.services.fortnox import Fortnox
from config.settings import Settings, SettingsError

MAX_BODY_BYTES = 1024 * 1024


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    fortnox_transport: httpx.BaseTransport | None = None,
) -> Flask:
    """Build the BackOffice. ``engine`` defaults to ``settings.database.url``; ``fortnox_transport`` is
    the seam to Fortnox (the sandbox mounted in process in tests, the network otherwise)."""
    if not settings.web.secret_key:
        raise SettingsError(
            "web.secret_key",
            "is empty",
            "set DAGSKASSA_WEB_SECRET_KEY to a long random string (the same on every machine)",
        )
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.web.secret_key,
        SESSION_COOKIE_SECURE=settings.web.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="dagskassa_session",
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=settings.web.secure_cookies,
    )
    engine = engine or make_engine(settings.database.url, settings.database.echo)
    sessions = make_sessionmaker(engine)
    app.extensions["dagskassa"] = {
        "settings": settings,
        "engine": engine,
        "sessions": sessions,
        "fortnox": Fortnox(settings, sessions, fortnox_transport),
    }
    csrf = CSRFProtect(app)

    # The blueprints use db() from this module, so they are imported once it exists.
    from backoffice import auth, i18n
    from backoffice.api import api
    from backoffice.views import register_views

    app.teardown_appcontext(_close_session)
    auth.init_app(app)
    i18n.init_app(app, settings.web.default_language)
    csrf.exempt(api)
    app.register_blueprint(api)
    register_views(app)
    operations.init_app(app)
    return app


def db() -> Session:
    """The request's database session (one per request, closed at teardown; the view commits)."""
    if "db" not in g:
        g.db = _state()["sessions"]()
    return g.db


def fortnox() -> Fortnox:
    return _state()["fortnox"]


def _state() -> dict[str, Any]:
    return current_app.extensions["dagskassa"]


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
