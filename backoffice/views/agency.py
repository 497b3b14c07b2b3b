from __future__ import annotations

from flask import Blueprint

bp = Blueprint("agency", __name__, url_prefix="/agency")


@bp.get("/")
def overview() -> str:
    return "agency"
