"""The manager's "book this day through a SIE file instead": a day the API claimed but provably never
booked (its export refused, or needing attention) hands its claim to ``sie`` (one channel per day,
``backoffice.services.day_claims``), so the SIE export takes it and the pipeline refuses it from then on.
Like every service it never commits; the view does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import AuditEntry, Export, Store, User, ZReportRecord, utcnow
from backoffice.pipeline import states
from backoffice.services import day_claims
from backoffice.services.exports import WORKER_AT_IT, load_z_report, worker_at_it
from backoffice.services.mapping import settings_of

#: The states of an export whose day the manager may book through a SIE file instead (the action's button).
SIE_INSTEAD_FROM = (states.REJECTED, states.NEEDS_ATTENTION)
#: The states every export of that day must be in: nothing is being sent, nor due to be.
RELEASABLE = (states.RECEIVED, states.NEEDS_ATTENTION, states.REJECTED)


def book_as_sie(session: Session, store: Store, user: User, export: Export) -> str | None:
    """The manager's "book this day through a SIE file instead" for a day whose export ended without a
    voucher (rejected, or needing attention). Returns why not, or None.

    Only when it is provably safe: every export of the store's day is refused or waiting (none posted,
    sending or due), none has had a voucher in the books (a correction's first one), and none has a send
    whose outcome is unknown (see :func:`_unanswered_send`). Then each moves to ``sie_instead``
    (terminal; its alert resolves) and the day's claim goes to ``sie``, so the SIE export takes the day
    and the pipeline refuses it from now on. A day marked as booked by hand stays so. Audited.
    """
    if export.state not in SIE_INSTEAD_FROM:
        return f"only a day refused or waiting for attention may go as a SIE file instead (this one is {export.state})"
    day = export.business_date
    claim = session.scalars(
        select(day_claims.DayClaim)
        .where(day_claims.DayClaim.store_id == store.id, day_claims.DayClaim.business_date == day)
        .with_for_update()
    ).one_or_none()
    if claim is not None and claim.channel == day_claims.MANUAL:
        described = day_claims.describe(claim.channel, claim.detail, claim.claimed_at)
        return f"the day is in the books already ({described}): it needs no SIE file"
    exports = session.scalars(
        select(Export)
        .where(Export.store_id == store.id, Export.business_date == day)
        .order_by(Export.id)
        .with_for_update()
    ).all()
    for each in exports:
        reason = _not_releasable(session, each)
        if reason is not None:
            record = each.z_report
            return f"{each.channel} Z {record.z_number} ({record.register.register_key}): {reason}"
    now = datetime.now(UTC)
    released = claim.channel if claim is not None else None
    for each in exports:
        if each.state != states.SIE_INSTEAD:
            states.move(
                session,
                each,
                states.SIE_INSTEAD,
                actor=user,
                now=now,
                action="export.sie_instead",
                export_id=each.id,
                released=released,
            )
    detail = f"to a SIE file instead of {released or 'the API'}, by {user.email}"
    if claim is None:
        day_claims.claim_days(session, store.id, [day], day_claims.SIE, detail)
    elif claim.channel != day_claims.SIE:
        claim.channel, claim.detail, claim.claimed_at = day_claims.SIE, detail, utcnow()
    audit.record(
        session,
        user,
        "day.sie_instead",
        store,
        day.isoformat(),
        released=released,
        exports=[each.id for each in exports],
    )
    return None


def _not_releasable(session: Session, export: Export) -> str | None:
    """Why this export of the day keeps the day from going as a SIE file, or None."""
    if export.state == states.SIE_INSTEAD:
        return None
    if export.state == states.POSTED:
        return f"it is in the books ({export.external_ref or 'posted'}): a day goes through one channel"
    if export.state == states.HELD_DUPLICATE:
        return "the same sales seem to be booked already: post it anyway, or mark the day as booked"
    if export.state not in RELEASABLE:
        return (
            f"it is {export.state}: a send is due or under way; wait until it ends refused or needing "
            "attention (Dagskassa first looks in the books for anything sent without an answer)"
        )
    if export.revision or export.posted_at or export.posted_json or export.reverses_json:
        return "a voucher of it was posted before (it was corrected since): correct it instead"
    if worker_at_it(session, export):
        return WORKER_AT_IT
    sent, unanswered = _unanswered_send(session, export)
    if unanswered:
        return (
            "a send of it had no answer, and Dagskassa has not looked in the books since: send it again "
            "(it looks for the voucher before anything else) and come back if it is refused"
        )
    if sent and _has_invoice_sales(session, export):
        return "its sales on invoice may be in the accounting system as invoices already: book it there"
    return None


def _unanswered_send(session: Session, export: Export) -> tuple[bool, bool]:
    """Whether the export was ever sent, and whether a send of it may be in the books unseen.

    Read from the audit log, which holds every move: a send's outcome is unknown from ``uncertain`` until
    the next move to ``posting``, which the pipeline makes only after looking up the voucher's marker and
    finding nothing (an answered refusal needs no look). So a send may be in the books unseen exactly
    when the export's latest ``posting``/``uncertain`` entry is ``uncertain``. The entries name the day
    and Z number, not the register; when another export of the store shares both, any ``uncertain``
    entry counts. An export that counts sends the log does not show is taken as unanswered.
    """
    record = export.z_report
    tail = f" {export.business_date.isoformat()} Z {record.z_number}"
    moves = session.scalars(
        select(AuditEntry.action)
        .where(
            AuditEntry.store_id == export.store_id,
            AuditEntry.action.in_(("export.posting", "export.uncertain")),
            AuditEntry.subject.like(f"%{tail}"),
        )
        .order_by(AuditEntry.id.desc())
    ).all()
    if not moves:
        # Sends counted since the last "send again" but none in the log: the log cannot vouch for them.
        return bool(export.attempts), bool(export.attempts)
    shared = session.scalar(
        select(Export.id)
        .join(ZReportRecord, ZReportRecord.id == Export.z_report_id)
        .where(
            Export.store_id == export.store_id,
            Export.business_date == export.business_date,
            ZReportRecord.z_number == record.z_number,
            Export.id != export.id,
        )
        .limit(1)
    )
    if shared is not None:
        return True, "export.uncertain" in moves
    return True, moves[0] == "export.uncertain"


def _has_invoice_sales(session: Session, export: Export) -> bool:
    settings = settings_of(session, export.store, create=False)
    return bool(settings.invoicing and load_z_report(export.z_report).invoice_sales)
