"""Exports: a Z-report through a channel, its voucher preview, and the manager's actions on it.

The posting itself belongs to the export pipeline; the actions here move the state (and write the
audit log) so the pipeline picks the export up. Two of them touch the day's claim (one channel per day,
``backoffice.services.day_claims``): "mark as already booked" claims the day for ``manual``, and "book
this day through a SIE file instead" (``backoffice.services.sie_instead``) hands a day the API claimed but
provably never booked to ``sie``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import Export, Store, SyncSettings, User, ZReportRecord
from backoffice.pipeline import fence, states
from backoffice.services import day_claims
from backoffice.services.mapping import settings_of, store_mapping
from exporters.core import BuildOptions, Voucher, ZReport, build_voucher, parse_z_report
from exporters.core.errors import FixData

FORTNOX = "fortnox"
RECEIVED, READY, NEEDS_ATTENTION, POSTED = (
    states.RECEIVED,
    states.READY,
    states.NEEDS_ATTENTION,
    states.POSTED,
)
#: States from which a person may ask for the day to be sent (again).
SENDABLE = (RECEIVED, READY, NEEDS_ATTENTION, states.REJECTED, states.RETRY_WAIT, states.HELD_DUPLICATE)


def load_z_report(record: ZReportRecord) -> ZReport:
    """The stored report, read from the JSON exactly as it was received."""
    return parse_z_report(json.loads(record.raw_json, parse_float=Decimal))


def build_options(settings: SyncSettings, revision: int = 0) -> BuildOptions:
    """How the store's days are built; ``revision`` counts corrections of one day (a new marker each)."""
    return BuildOptions(
        invoicing=settings.invoicing, voucher_series=settings.voucher_series, revision=revision
    )


def preview(session: Session, store: Store, record: ZReportRecord) -> tuple[Voucher | None, FixData | None]:
    """The voucher the day would be posted as now, or the error saying what to fix first."""
    settings = settings_of(session, store, create=False)
    try:
        return build_voucher(
            load_z_report(record), store_mapping(session, store, settings), build_options(settings)
        ), None
    except FixData as exc:
        return None, exc


def waiting_state(
    voucher_error: FixData | None, sync_sales: bool, due_at: datetime | None = None
) -> dict[str, str | datetime | None]:
    """What a new or re-checked export waits for (sync turned on, a fix, or nothing): its state, error,
    fix and, for a ready one, when it is due (``due_at``: the store's posting time, see
    backoffice.pipeline.posting), as column values."""
    if voucher_error is not None:
        fix = voucher_error.fix or "map the keys listed on the Account mapping page"
        return {
            "state": NEEDS_ATTENTION,
            "error_message": voucher_error.message,
            "error_fix": fix,
            "error_code": states.WAITS_FOR_VOUCHER,
            "next_attempt_at": None,
        }
    state = READY if sync_sales else RECEIVED
    due = due_at if state == READY else None
    return {
        "state": state,
        "error_message": None,
        "error_fix": None,
        "error_code": None,
        "next_attempt_at": due,
    }


def evaluate(export: Export, voucher_error: FixData | None, sync_sales: bool) -> None:
    """Set an export to :func:`waiting_state`."""
    for name, value in waiting_state(voucher_error, sync_sales).items():
        setattr(export, name, value)


def _set_state(session: Session, export: Export, user: User, action: str, state: str) -> None:
    states.move(session, export, state, actor=user, now=datetime.now(UTC), action=action, export_id=export.id)


def send_now(session: Session, store: Store, user: User, export: Export) -> str | None:
    """Queue the export for posting at once. Returns why not, or None."""
    if export.state not in SENDABLE:
        return f"state {export.state}"
    _, error = preview(session, store, export.z_report)
    if error is not None:
        evaluate(export, error, True)
        return error.message
    # From held_duplicate this is the manager's "post anyway": skip the duplicate check once.
    export.forced = export.state == states.HELD_DUPLICATE
    _set_state(session, export, user, "export.send_now", READY)
    return None


def resend(session: Session, store: Store, user: User, export: Export) -> str | None:
    """Post the day again (a correction after a mapping change is the pipeline's: reversal + new).
    Returns why not (a state that never goes back, e.g. a day handed to a SIE file), or None."""
    if READY not in states.TRANSITIONS[export.state] and export.state != READY:
        return f"state {export.state}"
    export.attempts = 0
    _set_state(session, export, user, "export.resend", READY)
    return None


WORKER_AT_IT = "a worker is sending the day right now: try again in a minute"


def worker_at_it(session: Session, export: Export) -> bool:
    """Whether an attempt at the export is under way (PostgreSQL: its fence, see
    ``backoffice.pipeline.fence``). If not, the fence is held until the caller's transaction ends, so no
    attempt starts before the person's change is committed. SQLite: False (one writer at a time)."""
    return not fence.hold_in_transaction(session, export.id)


#: States from which a person may mark the day as already booked: not posted, and no send under way (an
#: unanswered one, ``uncertain``, the manager may settle by looking in the books).
MARKABLE = (*SENDABLE, states.UNCERTAIN)


def mark_booked(session: Session, store: Store, user: User, export: Export) -> str | None:
    """The manager says the day is already in the books, booked outside Dagskassa: never post it, and
    claim the day for ``manual`` so the pipeline and the SIE export refuse it like any claimed day (a
    channel that holds the day already keeps it). Returns why not, or None."""
    if export.state not in MARKABLE:
        return f"state {export.state}"
    if worker_at_it(session, export):
        return WORKER_AT_IT
    claim = day_claims.claim_booked_by_hand(session, store.id, export.business_date, user.email)
    export.external_ref = export.external_ref or "marked by hand"
    states.move(
        session,
        export,
        POSTED,
        actor=user,
        now=datetime.now(UTC),
        action="export.marked_booked",
        export_id=export.id,
        day_claimed_by=claim.channel,
        day_claim=claim.detail,
    )
    return None


def post_missing_since(session: Session, store: Store, user: User, since: date) -> int:
    """Queue every day from ``since`` that has not been posted; returns how many."""
    exports = session.scalars(
        select(Export).where(
            Export.store_id == store.id,
            Export.business_date >= since,
            Export.state.in_((RECEIVED, NEEDS_ATTENTION, states.REJECTED, states.RETRY_WAIT)),
        )
    ).all()
    settings = settings_of(session, store)
    mapping = store_mapping(session, store, settings)
    count = 0
    for export in exports:
        try:
            build_voucher(load_z_report(export.z_report), mapping, build_options(settings))
        except FixData as exc:
            evaluate(export, exc, True)
            continue
        states.move(session, export, READY, actor=user, now=datetime.now(UTC), action="export.queued_missing")
        count += 1
    audit.record(session, user, "export.post_missing", store, since.isoformat(), queued=count)
    return count
