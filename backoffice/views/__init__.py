"""The pages. Each view parses the request, calls one service, commits and renders."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError


def register_views(app: Flask) -> None:
    from backoffice.notify import views as notify
    from backoffice.views import agency, exports, fortnox, sie, stores
    from backoffice.views.people import bp as people_bp

    for blueprint in (stores.bp, exports.bp, fortnox.bp, agency.bp, sie.bp, notify.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(people_bp)

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Any:
        return render_template(
            "error.html",
            title="Page not found",
            message="There is nothing here, or you do not have access to it.",
        ), 404

    @app.errorhandler(CSRFError)
    def csrf_refused(_exc: CSRFError) -> Any:
        message = "The form expired or was sent from elsewhere. Reload the page and try again."
        return render_template("error.html", title="Error", message=message), 400
