"""The register API (``/api/v1``), used by the POS bridge at each store. JSON in and out; every refusal
is ``{"errors": [{"field", "message", "fix"}]}``. Described by the OpenAPI document at
``/api/openapi.json`` (:mod:`backoffice.api.openapi`)."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from backoffice.api.openapi import openapi_document
from backoffice.app import db
from backoffice.db import begin_read
from backoffice.services import ingest, registers

log = logging.getLogger(__name__)
api = Blueprint("api", __name__, url_prefix="/api")


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def _error(status: int, field: str, message: str, fix: str = "") -> Response:
    return _json(status, {"errors": [{"field": field, "message": message, "fix": fix}]})


@api.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    field = "body" if exc.code == 413 else "request"
    return _error(exc.code or 500, field, exc.description or exc.name, "see /api/openapi.json")


@api.get("/openapi.json")
def openapi() -> Response:
    return _json(200, openapi_document())


@api.get("/v1/health")
def health() -> Response:
    db().execute(text("SELECT 1"))
    return _json(200, {"status": "ok"})


@api.post("/v1/enroll")
def enroll() -> Response:
    try:
        body = json.loads(request.get_data())
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _error(
            422, "body", "is not valid JSON", 'send {"code": ..., "register_id": ..., "control_unit_id": ...}'
        )
    session = db()
    try:
        enrolled = registers.enroll(session, body)
    except registers.EnrollmentRefused as exc:
        return _json(422, {"errors": [p.to_dict() for p in exc.problems]})
    session.commit()
    return _json(201, {"device_token": enrolled.device_token, "register_id": enrolled.register.register_key})


def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@api.post("/v1/z-reports")
def post_z_report() -> Response:
    received = ingest.read(request.get_data())  # no database work yet
    key = request.headers.get("Idempotency-Key") or None
    session = db()
    for attempt in (1, 2):
        begin_read(session)
        register = registers.device(session, _bearer_token())
        if register is None:
            return _error(
                401,
                "Authorization",
                "no valid device token",
                "enroll the register with a one-time code and send Bearer <token>",
            )
        plan = ingest.plan(session, register, received, key)
        if session.get_bind().dialect.name == "sqlite":
            session.commit()  # reads done: SQLite's one write turn is taken only for the inserts
        try:
            outcome = ingest.apply(session, register, plan)
            session.commit()
            break
        except IntegrityError:
            # The same Z number was stored meanwhile by another worker: plan again, which finds it.
            session.rollback()
            if attempt == 2:
                raise
    if outcome.status >= 400:
        log.info("z-report refused (%s) from register %s", outcome.status, register.register_key)
    return _json(outcome.status, outcome.body)
