from __future__ import annotations

from flask import Blueprint

bp = Blueprint("stores", __name__)


@bp.get("/")
def index() -> str:
    return "stores"
