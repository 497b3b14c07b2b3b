"""One export attempt: from a due export row to a voucher in the accounting system, exactly once.

The rule that makes it exactly once: a send is preceded by a committed ``posting`` state and an attempt
count, and any attempt after the first looks for the voucher by its origin marker before sending again.
So whatever dies where (this process, the network, the accounting system), the next attempt either finds
the voucher and adopts it, or knows it was never stored and sends it. The first attempt instead looks at
every voucher of that date (the SIE double-import guard, DESIGN.md section 7 layer 2): our marker is
adopted, the same payment totals without it hold the export for the manager.

Sales on invoice become invoices (or orders) first, each with its own marker and the same rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, sessionmaker

from backoffice.models import Export, Store, SyncSettings
from backoffice.operations.metrics import observe_posted
from backoffice.pipeline import attachments, states
from backoffice.pipeline.fence import ExportFence
from backoffice.services.day_claims import claim_for_api
from backoffice.services.exports import build_options, load_z_report
from backoffice.services.mapping import settings_of, store_mapping
from exporters.core.errors import (
    DagskassaError,
    FixData,
    OutcomeUnknown,
    Reconnect,
    Rejected,
    RetryLater,
)
from exporters.core.voucher import (
    PAYMENT,
    Voucher,
    build_voucher,
    carries_marker,
    reverse_voucher,
)
from exporters.core.zreport import InvoiceSale, ZReport
from exporters.providers import AccountingSession, PostedVoucher

#: An unanswered send is reconciled soon: the voucher is either there by then or it never will be.
UNCERTAIN_DELAY = timedelta(seconds=20)


@dataclass
class ExportRuntime:
    """What an attempt needs from outside, injected by the worker (and by tests)."""

    #: Opens the accounting session of the export's store; raises Reconnect when the connection is dead,
    #: FixData when the export's channel is not the system the store books in now.
    open_session: Callable[[Session, Export], AccountingSession]
    now: Callable[[], datetime]
    #: Keeps two attempts off one export (see fence.py); one per engine, shared by every worker.
    fence: ExportFence
    rng: random.Random = field(default_factory=random.Random)
    #: Hold a day whose payment totals are already booked on that date (layer 2 of the SIE guard).
    duplicate_guard: bool = True
    #: Called when the connection must be reconnected, with the store and the reason.
    on_reconnect: Callable[[Session, Store, str], None] | None = None


def duplicate_evidence(voucher: Voucher, booked: list[PostedVoucher]) -> list[dict[str, str]]:
    """The vouchers of the same date that book the same payments without carrying our marker.

    Our payment rows are (account, debit) pairs; a voucher that has every one of them, e.g. one imported
    from the register's own SIE export, books the same day again.
    """
    ours = sorted((row.account, row.debit) for row in voucher.rows if row.part == PAYMENT and row.debit)
    if not ours:
        return []
    found = []
    for other in booked:
        if carries_marker(other.description):
            continue
        theirs = [(account, debit) for account, debit, _credit in other.rows if debit]
        if all(pair in theirs for pair in ours):
            total = sum((debit for _account, debit in ours), Decimal("0.00"))
            found.append(
                {
                    "voucher": other.ref,
                    "description": other.description,
                    "reason": f"same payments ({', '.join(f'{a} {d}' for a, d in ours)}; {total}) on that date",
                }
            )
    return found


def attempt(sessions: sessionmaker, export_id: int, runtime: ExportRuntime, worker: str) -> str:
    """Make one attempt at ``export_id`` and return the state it ends in ("busy" if another attempt at
    it is under way).

    No database transaction is open while the accounting system is called (on SQLite an open one would
    hold the write lock the token store needs): each step commits before it calls out.
    """
    with runtime.fence.hold(export_id) as alone:
        if not alone:
            return "busy"
        return _attempt(sessions, export_id, runtime, worker)


def load_export(db: Session, export_id: int) -> tuple[Export, SyncSettings | None] | None:
    """The export under its row lock, with its store and its Z-report, and the store's sync settings (None
    if it has none yet), read by one statement: an attempt needs them all, and each would otherwise be a
    query of its own. Keep the settings while using the session: its identity map holds them weakly."""
    row = db.execute(
        select(Export, SyncSettings)
        .join(Export.store)
        .join(Export.z_report)
        .outerjoin(SyncSettings, SyncSettings.store_id == Export.store_id)
        .options(contains_eager(Export.store), contains_eager(Export.z_report))
        .where(Export.id == export_id)
        .with_for_update(of=Export)
    ).first()
    return None if row is None else (row[0], row[1])


def _attempt(sessions: sessionmaker, export_id: int, runtime: ExportRuntime, worker: str) -> str:
    with sessions() as db:
        loaded = load_export(db, export_id)
        if loaded is None:
            return "gone"
        export, sync = loaded
        now = runtime.now()
        stale_posting = export.state == states.POSTING
        if export.state not in states.DUE_STATES and not stale_posting:
            if export.state == states.POSTED:  # due for its Z-report attachment (see worker.due_condition)
                attachments.attach_due(sessions, db, export, runtime.open_session, runtime.now, runtime.rng)
                return states.POSTED
            state = export.state
            db.commit()
            return state
        store = export.store
        sync = sync or settings_of(db, store)
        try:
            z_report = load_z_report(export.z_report)
            voucher = build_voucher(
                z_report, store_mapping(db, store, sync), build_options(sync, export.revision)
            )
        except FixData as exc:
            states.move(
                db,
                export,
                states.NEEDS_ATTENTION,
                now=now,
                message=exc.message,
                fix=exc.fix,
                code=states.WAITS_FOR_VOUCHER,
            )
            db.commit()
            return export.state
        if stale_posting:
            # A worker died mid-send: the voucher may be there. Treat it as unanswered.
            states.move(db, export, states.UNCERTAIN, now=now, message="the worker stopped while sending")
        try:
            plan = _plan(export, voucher, z_report, sync)
            # Guard layer 1: the day is this channel's (claimed, committed below before any send).
            claim_for_api(
                db, store.id, export.business_date, export.channel, sync.sync_from, f"export {export.id}"
            )
            account = runtime.open_session(db, export)
            seen = (export.state, export.attempts)
            db.commit()
            already = _already_posted(account, export, voucher, runtime)
            now = runtime.now()
            if _moved_meanwhile(db, export, seen):
                db.commit()
                return export.state
            if isinstance(already, list):
                states.move(
                    db,
                    export,
                    states.HELD_DUPLICATE,
                    now=now,
                    message="the same sales seem to be booked already on this date",
                    fix="check the voucher named in the evidence; post anyway, or mark the day as booked",
                    evidence=already,
                )
                export.evidence = already
                db.commit()
                return export.state
            if already is not None:
                return _posted(db, export, now, already, voucher, adopted=True)
            export.attempts += 1
            # Set before the move, whose audit insert flushes the row: one UPDATE, not two.
            export.claimed_by, export.claimed_at = worker, now
            states.move(db, export, states.POSTING, now=now, attempt=export.attempts, worker=worker)
            db.commit()
            posted = _send(account, export, plan, sync)
        except DagskassaError as exc:
            _failed(db, export, exc, runtime, store)
            db.commit()
            return export.state
        return _posted(db, export, runtime.now(), posted, voucher)


def _moved_meanwhile(db: Session, export: Export, seen: tuple[str, int]) -> bool:
    """Whether the export moved while the attempt held no transaction (the look-up in the books runs
    between two): a person marked the day as booked, or sent it through a SIE file instead, from another
    process (SQLite has no fence across processes), or another attempt sent it. ``seen``: its state and
    attempt count then. Read again under the row lock (SQLite: the write turn), so nothing can move it
    between this read and the attempt's next write; if it moved, the attempt stops with the row read
    afresh."""
    now_state = db.execute(
        select(Export.state, Export.attempts).where(Export.id == export.id).with_for_update()
    ).one()
    if tuple(now_state) == seen:
        return False
    db.refresh(export)
    return True


def _failed(db: Session, export: Export, exc: DagskassaError, runtime: ExportRuntime, store: Store) -> None:
    """Record why the attempt failed and when (if ever) the next one is due."""
    now = runtime.now()
    if isinstance(exc, OutcomeUnknown):
        states.move(
            db, export, states.UNCERTAIN, now=now, message=str(exc), next_attempt_at=now + UNCERTAIN_DELAY
        )
    elif isinstance(exc, RetryLater):
        delay = states.retry_delay(export.attempts, exc.retry_after, runtime.rng)
        states.move(db, export, states.RETRY_WAIT, now=now, message=str(exc), next_attempt_at=now + delay)
    elif isinstance(exc, Rejected):
        states.move(
            db, export, states.REJECTED, now=now, message=exc.message, fix=exc.fix, code=_code(exc.code)
        )
    else:
        code = None
        if isinstance(exc, Reconnect):
            code = states.WAITS_FOR_RECONNECT
            if runtime.on_reconnect:
                runtime.on_reconnect(db, store, exc.message)
        states.move(db, export, states.NEEDS_ATTENTION, now=now, message=exc.message, fix=exc.fix, code=code)


def _already_posted(
    account: AccountingSession, export: Export, voucher: Voucher, runtime: ExportRuntime
) -> PostedVoucher | list[dict[str, str]] | None:
    """Before any send: our voucher if it is already there (adopt it), the evidence if the same sales
    are booked there without our marker (hold it), else None (send it).

    The first attempt of a day reads every voucher of that date, which finds both; later attempts (and
    days the manager sent again) look for the marker alone.
    """
    if runtime.duplicate_guard and export.attempts == 0 and not export.revision and not export.forced:
        booked = account.vouchers_on(voucher.transaction_date)
        mine = [v for v in booked if f"[{voucher.marker}]" in v.description]
        return mine[0] if mine else (duplicate_evidence(voucher, booked) or None)
    if voucher.is_empty:
        return None
    return account.find_voucher(voucher.marker, voucher.transaction_date, voucher.series)


def _code(code: object) -> str | None:
    return None if code is None else str(code)


def _posted(
    db: Session,
    export: Export,
    now: datetime,
    posted: PostedVoucher | None,
    voucher: Voucher,
    adopted: bool = False,
) -> str:
    """Record the day as booked, keeping the voucher as posted (a correction reverses exactly that)."""
    export.external_ref = posted.ref if posted else "nothing to book"
    export.posted_json = voucher.to_dict()
    export.reverses_json = None
    # Scheduled before the move, whose audit insert flushes the row: one UPDATE, not two.
    attachments.schedule(db, export, posted, now)
    states.move(db, export, states.POSTED, now=now, ref=export.external_ref, adopted=adopted)
    db.commit()
    observe_posted(export.channel, export.z_report.received_at, now)
    return export.state


@dataclass
class _Plan:
    voucher: Voucher
    reversal: Voucher | None
    invoices: list[tuple[str, InvoiceSale]]


def _plan(export: Export, voucher: Voucher, z_report: ZReport, sync: SyncSettings) -> _Plan:
    """What this attempt sends: the invoices (first attempt of a day only), a reversal for a correction,
    the voucher. Refuses a tip on an invoice the store does not allow."""
    invoices: list[tuple[str, InvoiceSale]] = []
    if sync.invoicing and not export.revision:
        for index, sale in enumerate(z_report.invoice_sales, start=1):
            if sale.tip and not sync.allow_tip_on_invoice:
                raise FixData(
                    f"invoice sale {sale.receipt_number} has a tip of {sale.tip} and tips on invoices are off",
                    "turn on 'Allow tip on invoice' in the integration settings, or turn invoicing off",
                )
            invoices.append((f"{voucher.marker}.f{index}", sale))
    reversal = None
    if export.revision and export.reverses_json:
        reversal = reverse_voucher(Voucher.from_dict(export.reverses_json), z_report)
    return _Plan(voucher, reversal, invoices)


def _send(
    account: AccountingSession, export: Export, plan: _Plan, sync: SyncSettings
) -> PostedVoucher | None:
    """Every side effect of the export, each skipped when its marker is already there, whatever the attempt
    count says (a day sent again starts counting afresh). The voucher's own marker was looked for just
    before, in :func:`_already_posted`."""
    for marker, sale in plan.invoices:
        if account.find_invoice(marker, export.business_date) is None:
            account.post_invoice(
                sale,
                marker,
                as_order=sync.use_order_instead_of_invoice,
                allow_tip=sync.allow_tip_on_invoice,
                on=export.business_date,
            )
    reversal = plan.reversal
    if (
        reversal is not None
        and not reversal.is_empty
        and account.find_voucher(reversal.marker, reversal.transaction_date, reversal.series) is None
    ):
        account.post_voucher(reversal)
    return None if plan.voucher.is_empty else account.post_voucher(plan.voucher)
