"""A correction after a mapping change: Fortnox vouchers cannot be edited, so the day is booked again as
a reversal of the voucher in the books plus a new voucher built with today's mapping. Both carry markers
of their own (the revision counts up), so each is posted exactly once like any voucher."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backoffice.models import Export, Store, User
from backoffice.pipeline import states
from backoffice.services.exports import build_options, load_z_report
from backoffice.services.mapping import settings_of, store_mapping
from exporters.core.errors import FixData
from exporters.core.voucher import build_voucher


def correct(session: Session, store: Store, user: User, export: Export, now: datetime) -> str | None:
    """Queue the correction of a posted day. Returns why it cannot be corrected, or None."""
    if export.state != states.POSTED or not export.posted_json:
        return "only a day posted by Dagskassa can be corrected"
    sync = settings_of(session, store)
    revision = export.revision + 1
    try:
        voucher = build_voucher(
            load_z_report(export.z_report),
            store_mapping(session, store, sync),
            build_options(sync, revision),
        )
    except FixData as exc:
        return exc.message
    before = [(row["account"], row["debit"], row["credit"]) for row in export.posted_json["rows"]]
    after = [(row["account"], row["debit"], row["credit"]) for row in voucher.to_dict()["rows"]]
    if before == after:
        return "the voucher would be the same as the one in the books"
    export.reverses_json = export.posted_json
    export.revision, export.attempts = revision, 0
    states.move(
        session,
        export,
        states.READY,
        actor=user,
        now=now,
        reason="correction after a mapping change",
        reverses=export.external_ref,
    )
    return None
