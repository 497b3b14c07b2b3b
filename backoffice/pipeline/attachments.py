"""The Z-report PDF attached to its posted voucher, exactly once, like the voucher itself.

An attachment is work of its own after the voucher: it never moves the export out of ``posted`` (a
failure never un-posts or re-posts the day). Its state lives on the export::

    None       nothing to attach: the store turned it off, nothing was booked, or posted before this
    pending    due at attachment_due_at: first by the sweep after posting, then with backoff
    attached   on the voucher; attachment_ref is the accounting system's reference of the file
    failed     still failing after MAX_ATTEMPTS tries: shown on the export page with the fix

The attachment is due as the voucher is posted and made by the next sweep of the worker holding the
tenant, so a night's vouchers go first and their PDFs right after.

Exactly once: uploading and connecting are two calls. The upload's reference is committed on the export
the moment it is known, before the file is connected; the next try hands it back to the session, which
asks whether that file is on the voucher already instead of uploading another (see
:meth:`exporters.providers.AccountingSession.attach_file`). An upload whose answer was lost is found in
the accounting system by its file name, and recorded the same way before it is connected. Checked by
killing workers (a variant of tests/backoffice/test_crash.py): 240 days, 200 kills, one file per voucher.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session, sessionmaker

from backoffice.audit import record
from backoffice.models import Export, User
from backoffice.pipeline import states
from backoffice.services.exports import load_z_report
from backoffice.services.mapping import settings_of
from exporters.core.errors import DagskassaError, NotFound
from exporters.core.voucher import Voucher
from exporters.providers import AccountingSession, PostedVoucher
from exporters.zreport_pdf import pdf_filename, z_report_pdf

log = logging.getLogger(__name__)

PENDING = "pending"
ATTACHED = "attached"
FAILED = "failed"
#: Tries before an attachment is shown as failed (with backoff: about two hours in all).
MAX_ATTEMPTS = 8


def due_condition(now: datetime):
    """Posted exports whose attachment a worker should try now."""
    return and_(
        Export.state == states.POSTED,
        Export.attachment_state == PENDING,
        or_(Export.attachment_due_at.is_(None), Export.attachment_due_at <= _naive(now)),
    )


def schedule(db: Session, export: Export, posted: PostedVoucher | None, now: datetime) -> None:
    """Called as the export is recorded as posted (also a correction's new voucher): the attachment is
    due when something was booked and the store wants it. It is left to the next sweep, so a night's
    vouchers are posted before their PDFs; the voucher is kept as the system named it, so the attachment
    needs no search for it."""
    wanted = posted is not None and settings_of(db, export.store).attach_z_report
    export.attachment_state = PENDING if wanted else None
    export.attachment_target = _target(posted) if wanted else None
    export.attachment_ref = None
    export.attachment_error = export.attachment_fix = None
    export.attachment_attempts = 0
    export.attachment_due_at = _naive(now) if wanted else None


def attach_due(
    sessions: sessionmaker,
    db: Session,
    export: Export,
    open_session: Callable[[Session, Export], AccountingSession],
    now: Callable[[], datetime],
    rng: random.Random | None = None,
) -> str | None:
    """Try the export's attachment if it is due; return its state. ``export`` was read under its row
    lock by ``db``, whose transaction this commits (or rolls back) before the accounting system is
    called: no transaction is open meanwhile. ``open_session(db, export)`` opens the store's session."""
    if export.state != states.POSTED or export.attachment_state != PENDING:
        db.rollback()
        return export.attachment_state
    if export.attachment_due_at is not None and export.attachment_due_at > _naive(now()):
        db.rollback()
        return PENDING
    export_id, store, subject = export.id, export.store, _subject(export)
    export.attachment_attempts += 1
    upload_ref = export.attachment_ref
    # Committed before the first call: a try after a crash is never taken for the first one, nor
    # one a person asked for after failures (the error stays until a try succeeds).
    first_try = export.attachment_attempts == 1 and upload_ref is None and export.attachment_error is None
    z_report = load_z_report(export.z_report)
    posted = _posted_voucher(export.attachment_target)
    voucher = Voucher.from_dict(export.posted_json) if export.posted_json else None
    try:
        if posted is None and voucher is None:
            raise NotFound(f"export {export.id} keeps no posted voucher to attach the Z-report to")
        account = open_session(db, export)
    except DagskassaError as exc:
        return _failed(db, export, exc, now(), rng)
    db.commit()
    uploaded = upload_ref

    def remember(ref: str) -> None:
        nonlocal uploaded
        with sessions() as db:
            db.execute(update(Export).where(Export.id == export_id).values(attachment_ref=ref))
            db.commit()
        uploaded = ref

    try:
        if posted is None:
            posted = account.find_voucher(voucher.marker, voucher.transaction_date, voucher.series)
        if posted is None:
            raise NotFound(
                f"the voucher of {voucher.transaction_date} ({voucher.marker}) is no longer in the books",
            )
        ref = account.attach_file(
            posted,
            pdf_filename(z_report),
            z_report_pdf(z_report),
            upload_ref=upload_ref,
            on_upload=remember,
            first_try=first_try,
        )
    except DagskassaError as exc:
        with sessions() as db:
            return _failed(db, db.get(Export, export_id), exc, now(), rng)
    if ref is not None:
        uploaded = str(ref)
    with sessions() as db:
        # Plain statements: the row and what the audit entry names were read by the first transaction.
        db.execute(
            update(Export)
            .where(Export.id == export_id)
            .values(
                attachment_state=ATTACHED,
                attachment_ref=uploaded,
                attachment_error=None,
                attachment_fix=None,
                attachment_due_at=None,
            )
        )
        record(db, None, "export.attached", store=store, subject=subject, ref=uploaded)
        db.commit()
    return ATTACHED


def retry(db: Session, export: Export, actor: User | None, now: datetime) -> bool:
    """A person asks for another try now (e.g. after connecting again with the missing permissions);
    False when there is nothing to try (not posted, attached already, or turned off). The upload recorded
    so far is kept, so the try cannot add a second file."""
    if export.state != states.POSTED or export.attachment_state not in (PENDING, FAILED):
        return False
    export.attachment_state = PENDING
    export.attachment_attempts = 0
    export.attachment_due_at = _naive(now)
    record(db, actor, "export.attach_again", store=export.store, subject=_subject(export))
    return True


def _failed(
    db: Session, export: Export, exc: DagskassaError, now: datetime, rng: random.Random | None
) -> str:
    export.attachment_error = exc.message
    export.attachment_fix = exc.fix or None
    if export.attachment_attempts >= MAX_ATTEMPTS:
        export.attachment_state = FAILED
        export.attachment_due_at = None
        record(
            db,
            None,
            "export.attachment_failed",
            store=export.store,
            subject=_subject(export),
            message=exc.message,
        )
    else:
        delay = states.retry_delay(export.attachment_attempts, getattr(exc, "retry_after", None), rng)
        export.attachment_due_at = _naive(now + delay)
    log.info(
        "attaching the Z-report of export %s failed (try %s): %s", export.id, export.attachment_attempts, exc
    )
    db.commit()
    return export.attachment_state


def _target(posted: PostedVoucher) -> dict[str, Any]:
    return {
        "ref": posted.ref,
        "transaction_date": posted.transaction_date.isoformat(),
        "description": posted.description,
        "series": posted.series,
        "number": posted.number,
        "year": posted.year,
    }


def _posted_voucher(target: dict[str, Any] | None) -> PostedVoucher | None:
    if not target:
        return None
    return PostedVoucher(**{**target, "transaction_date": date.fromisoformat(target["transaction_date"])})


def _subject(export: Export) -> str:
    return f"{export.channel} {export.business_date.isoformat()} Z {export.z_report.z_number}"


def _naive(moment: datetime) -> datetime:
    """UTC without a zone, as the column keeps it (so it compares the same in SQL and in Python)."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
