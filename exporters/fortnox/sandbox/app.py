"""The sandbox's WSGI app: Fortnox's OAuth and REST API, the sandbox's own pages, and the fault layer."""

from __future__ import annotations

import json

from flask import Flask, Response

from exporters.fortnox.sandbox import admin, api, chart, company, customers, inbox, oauth, sales, vouchers
from exporters.fortnox.sandbox.errors import ApiError
from exporters.fortnox.sandbox.faults import FaultInjector
from exporters.fortnox.sandbox.seed import seeded_state
from exporters.fortnox.sandbox.state import SandboxState

# The resource modules register their routes on api.bp when imported.
_RESOURCES = (company, chart, vouchers, customers, sales, inbox)


def create_app(state: SandboxState | None = None) -> Flask:
    """A Fortnox sandbox over ``state`` (the documented seeds when None). The state stays reachable as
    ``app.extensions["fortnox_sandbox"]``; knobs changed on it take effect at the next request."""
    app = Flask(__name__)
    app.extensions["fortnox_sandbox"] = state if state is not None else seeded_state()
    app.register_blueprint(oauth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)

    @app.errorhandler(ApiError)
    def fortnox_error(exc: ApiError) -> Response:
        return Response(exc.body(), status=exc.status, mimetype="application/json")

    @app.errorhandler(500)
    def system_error(exc: Exception) -> Response:
        body = {"ErrorInformation": {"error": 1, "message": "Ett systemfel har uppstått", "code": 1000003}}
        return Response(json.dumps(body), status=500, mimetype="application/json")

    app.wsgi_app = FaultInjector(app.wsgi_app, app.extensions["fortnox_sandbox"])
    return app
