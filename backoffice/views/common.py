"""Helpers every page uses: the signed-in user, the store they may see, flashing problems."""

from __future__ import annotations

from flask import flash, g

from backoffice.access import store_or_404
from backoffice.app import db
from backoffice.i18n import _
from backoffice.models import Store
from exporters.core.errors import Problem


def current_store(store_id: int) -> Store:
    """The store, if the signed-in user may see it; else 404."""
    return store_or_404(db(), g.user, store_id)


def flash_problems(problems: list[Problem]) -> None:
    for problem in problems:
        flash(
            f"{_(problem.field)}: {problem.message}" + (f" — {problem.fix}" if problem.fix else ""), "error"
        )
