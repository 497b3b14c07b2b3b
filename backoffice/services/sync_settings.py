"""The integration settings form (DESIGN.md section 6): validated as a whole, audited field by field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import Export, FortnoxCostCenter, FortnoxVoucherSeries, Store, User
from backoffice.pipeline import states
from backoffice.services.day_claims import SIE, DayClaim
from backoffice.services.mapping import settings_of
from exporters.core.errors import Problem

FLAGS = ("sync_sales", "invoicing", "allow_tip_on_invoice", "use_order_instead_of_invoice", "attach_z_report")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,20}$")


def choices(session: Session, store: Store) -> tuple[list[FortnoxVoucherSeries], list[FortnoxCostCenter]]:
    """The voucher series and cost centers imported from Fortnox, for the pickers."""
    series = session.scalars(
        select(FortnoxVoucherSeries)
        .where(FortnoxVoucherSeries.store_id == store.id)
        .order_by(FortnoxVoucherSeries.code)
    ).all()
    centers = session.scalars(
        select(FortnoxCostCenter)
        .where(FortnoxCostCenter.store_id == store.id, FortnoxCostCenter.active.is_(True))
        .order_by(FortnoxCostCenter.code)
    ).all()
    return list(series), list(centers)


def save_settings(session: Session, store: Store, user: User, form: Mapping[str, str]) -> list[Problem]:
    """Apply the form; returns every problem (and changes nothing) when there is any."""
    settings = settings_of(session, store)
    series, centers = choices(session, store)
    problems: list[Problem] = []
    values: dict[str, object] = {flag: form.get(flag) == "on" for flag in FLAGS}
    for name, known, label in (
        ("voucher_series", {s.code for s in series}, "voucher series"),
        ("cost_center", {c.code for c in centers}, "cost center"),
        ("project", set(), "project"),
    ):
        value = form.get(name, "").strip() or None
        if value is not None and not _CODE.match(value):
            problems.append(
                Problem(name, f"{value!r} is not a {label} code", "letters and digits, at most 20")
            )
        elif value is not None and known and value not in known:
            problems.append(Problem(name, f"{label} {value} is not in Fortnox", "pick one from the list"))
        values[name] = value
    posting_time = form.get("posting_time", "").strip()
    if posting_time and not _TIME.match(posting_time):
        problems.append(
            Problem(
                "posting_time",
                f"{posting_time!r} is not a time of day",
                "write HH:MM, e.g. 06:00, or leave it empty to post each day as soon as it arrives",
            )
        )
    values["posting_time"] = posting_time
    values["sync_from"] = _start_date(
        session, store, form.get("sync_from", ""), values["sync_sales"], problems
    )
    if values["use_order_instead_of_invoice"] and not values["invoicing"]:
        problems.append(
            Problem(
                "use_order_instead_of_invoice", "needs Invoice turned on", "turn on Invoice, or turn this off"
            )
        )
    if problems:
        return problems
    changes = {}
    for name, value in values.items():
        before = getattr(settings, name)
        if before != value:
            changes[name] = [_plain(before), _plain(value)]
            setattr(settings, name, value)
    if changes:
        audit.record(session, user, "settings.changed", store, changes=changes)
    return []


def _start_date(
    session: Session, store: Store, text: str, sync_on: object, problems: list[Problem]
) -> date | None:
    """The integration's start date (``sync_from``). With the sync on, it must come after the last day
    exported as a SIE file (DESIGN.md section 7, layer 1)."""
    text = text.strip()
    try:
        start = date.fromisoformat(text) if text else None
    except ValueError:
        problems.append(Problem("sync_from", f"{text!r} is not a date", "write it as YYYY-MM-DD"))
        return None
    last_sie = _last_sie_file_day(session, store.id) if sync_on else None
    if last_sie is not None and (start is None or start <= last_sie):
        problems.append(
            Problem(
                "sync_from",
                f"days up to {last_sie.isoformat()} were exported as a SIE file",
                f"set the start date to {date.fromordinal(last_sie.toordinal() + 1).isoformat()} or "
                "later, so that no day is booked twice",
            )
        )
    return start


def _last_sie_file_day(session: Session, store_id: int) -> date | None:
    """The last day the store exported as a SIE file, leaving out days handed to a SIE file from the
    integration ("book this day through a SIE file instead"): their exports are closed (``sie_instead``),
    so the integration never sends them, and the days around them are still the integration's."""
    handed_over = (
        select(Export.id)
        .where(
            Export.store_id == DayClaim.store_id,
            Export.business_date == DayClaim.business_date,
            Export.state == states.SIE_INSTEAD,
        )
        .exists()
    )
    return session.scalar(
        select(func.max(DayClaim.business_date)).where(
            DayClaim.store_id == store_id, DayClaim.channel == SIE, ~handed_over
        )
    )


def _plain(value: object) -> object:
    """A value as the audit log's JSON keeps it (a date as YYYY-MM-DD)."""
    return value.isoformat() if isinstance(value, date) else value
