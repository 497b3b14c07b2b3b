"""``GET /metrics``: the Prometheus text, for a scraper holding the token or on an internal network.

With ``web.metrics_token`` set, only ``Authorization: Bearer <token>`` is answered (401 otherwise; the
token compared in constant time). Without one, only clients on ``metrics.internal_networks`` are (404
for the rest, as if there were nothing here); a request that came through a proxy is never internal,
since behind a proxy on the same machine every client would look like 127.0.0.1.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST

from backoffice.operations.metrics import scrape

bp = Blueprint("operations", __name__)
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _state() -> dict[str, Any]:
    return current_app.extensions["dagskassa"]


def _internal(networks: tuple[str, ...]) -> bool:
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


@bp.get("/metrics")
def metrics() -> Response:
    settings = _state()["settings"]
    token = settings.web.metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return Response("a valid bearer token is needed\n", 401, {"WWW-Authenticate": "Bearer"})
    elif not _internal(settings.metrics.internal_networks):
        abort(404)
    return Response(scrape(_state()["sessions"]), 200, {"Content-Type": CONTENT_TYPE_LATEST})
