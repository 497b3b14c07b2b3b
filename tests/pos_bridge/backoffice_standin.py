"""A stand-in for the BackOffice register API (DESIGN.md section 2, issue 4), until the real one lands.

A WSGI app that implements exactly the contract the bridge relies on: enrollment by one-time code,
``POST /api/v1/z-reports`` with a bearer token and an Idempotency-Key (201 new, 200 same again, 409 same
number other content, 422 invalid), ``GET /api/v1/health``. ``down`` makes it answer 503. It counts every
request, so tests can assert that nothing was booked twice.
"""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from exporters.core import ZReportInvalid, parse_z_report


class StandInBackOffice:
    def __init__(self, codes: tuple[str, ...] = ("ENROLL-1",)) -> None:
        self.codes = set(codes)
        self.tokens: dict[str, dict[str, str]] = {}
        self.reports: dict[tuple[str, int], dict[str, Any]] = {}
        self.conflicts: list[dict[str, Any]] = []
        self.posts: list[tuple[str, int]] = []
        self.created = 0
        self.down = False
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            status, body = self._route(environ)
        payload = json.dumps(body).encode("utf-8")
        start_response(
            f"{status} {'OK' if status < 400 else 'Error'}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _route(self, environ) -> tuple[int, Any]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if self.down:
            return 503, {"errors": [{"field": "", "message": "maintenance", "fix": "retry later"}]}
        if (method, path) == ("GET", "/api/v1/health"):
            return 200, {"status": "ok"}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            data = json.loads(environ["wsgi.input"].read(length) or b"null")
        except ValueError:
            return 400, {"errors": [{"field": "", "message": "not JSON", "fix": "send JSON"}]}
        if (method, path) == ("POST", "/api/v1/enroll"):
            return self._enroll(data)
        if (method, path) == ("POST", "/api/v1/z-reports"):
            return self._z_report(environ, data)
        return 404, {"errors": [{"field": "", "message": f"no {method} {path}", "fix": ""}]}

    def _enroll(self, data: Any) -> tuple[int, Any]:
        code = data.get("code") if isinstance(data, dict) else None
        if code not in self.codes:
            return 403, {"errors": [{"field": "code", "message": "unknown or used code", "fix": "new code"}]}
        self.codes.discard(code)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = {"register_id": data["register_id"], "control_unit_id": data["control_unit_id"]}
        return 201, {"device_token": token, "register_id": data["register_id"]}

    def _z_report(self, environ, data: Any) -> tuple[int, Any]:
        device = self.tokens.get(environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer "))
        if device is None:
            return 401, {"errors": [{"field": "Authorization", "message": "unknown token", "fix": "enroll"}]}
        try:
            report = parse_z_report(data)
        except ZReportInvalid as exc:
            return 422, {"errors": [p.to_dict() for p in exc.problems]}
        key = f"{device['register_id']}:z:{report.z_number}"
        if environ.get("HTTP_IDEMPOTENCY_KEY") != key or report.register.id != device["register_id"]:
            return 422, {"errors": [{"field": "Idempotency-Key", "message": f"expected {key}", "fix": ""}]}
        self.posts.append((report.register.id, report.z_number))
        stored = self.reports.get((report.register.id, report.z_number))
        if stored is None:
            self.created += 1
            self.reports[report.register.id, report.z_number] = {
                "id": self.created,
                "hash": report.content_hash(),
                "report": data,
            }
            return 201, {"id": self.created}
        if stored["hash"] == report.content_hash():
            return 200, {"id": stored["id"]}
        self.conflicts.append(data)
        return 409, {"errors": [{"field": "z_number", "message": "other content", "fix": "review"}]}


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


class Served:
    """The stand-in served on 127.0.0.1 in a thread; ``url`` is its address."""

    def __init__(self, app: StandInBackOffice) -> None:
        self.app = app
        self.server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
