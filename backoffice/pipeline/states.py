"""The export state machine (DESIGN.md section 4). Every move goes through :func:`move`, which refuses
a transition the machine does not have and writes the audit entry in the same transaction::

    received -> ready -> posting -> posted
                  |         |-> retry_wait   (429, network before sending; backoff with jitter)
                  |         |-> uncertain    (sent, no answer) -> reconcile by marker -> posted | ready
                  |         '-> rejected     (the accounting system refused it)
                  '-> needs_attention        (unmapped key, failed preflight, reconnect) -> ready
                  '-> held_duplicate         (the day already booked there) -> the manager decides
    received | rejected | needs_attention -> sie_instead (the manager books the day through a SIE file
                                                          instead; terminal, see services.sie_instead)
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from backoffice.audit import record
from backoffice.models import Export, User
from backoffice.notify.export_alerts import export_moved

RECEIVED = "received"
READY = "ready"
POSTING = "posting"
POSTED = "posted"
RETRY_WAIT = "retry_wait"
UNCERTAIN = "uncertain"
REJECTED = "rejected"
NEEDS_ATTENTION = "needs_attention"
HELD_DUPLICATE = "held_duplicate"
SIE_INSTEAD = "sie_instead"

STATES = (
    RECEIVED,
    READY,
    POSTING,
    POSTED,
    RETRY_WAIT,
    UNCERTAIN,
    REJECTED,
    NEEDS_ATTENTION,
    HELD_DUPLICATE,
    SIE_INSTEAD,
)
#: States a worker picks up when they are due.
DUE_STATES = (READY, RETRY_WAIT, UNCERTAIN)
#: States that end the export's work until a person acts.
WAITING_FOR_PEOPLE = (REJECTED, NEEDS_ATTENTION, HELD_DUPLICATE)

#: Why a ``needs_attention`` export waits, kept in ``error_code`` where no accounting system's code is:
#: the sweep re-checks only what it can see go away (the voucher builds again after a mapping fix; the
#: store is connected again). Any other reason waits for a person: "send again" after the fix.
WAITS_FOR_VOUCHER = "dk:voucher"
WAITS_FOR_RECONNECT = "dk:reconnect"

TRANSITIONS: dict[str, frozenset[str]] = {
    RECEIVED: frozenset({READY, NEEDS_ATTENTION, POSTED, SIE_INSTEAD}),
    # ready -> posted: the reconcile step found the voucher already there (adopted).
    READY: frozenset({POSTING, POSTED, NEEDS_ATTENTION, HELD_DUPLICATE, RECEIVED}),
    POSTING: frozenset({POSTED, RETRY_WAIT, UNCERTAIN, REJECTED, NEEDS_ATTENTION, READY}),
    RETRY_WAIT: frozenset({POSTING, POSTED, READY, NEEDS_ATTENTION, HELD_DUPLICATE}),
    UNCERTAIN: frozenset({POSTED, READY, POSTING, RETRY_WAIT, NEEDS_ATTENTION}),
    REJECTED: frozenset({READY, POSTED, SIE_INSTEAD}),
    NEEDS_ATTENTION: frozenset({READY, POSTED, RECEIVED, SIE_INSTEAD}),
    HELD_DUPLICATE: frozenset({READY, POSTED}),
    # posted -> ready: a correction after a mapping change (a reversal plus a new voucher).
    POSTED: frozenset({READY}),
    # The day goes to the books through a SIE file: nothing more to do here.
    SIE_INSTEAD: frozenset(),
}

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


class TransitionRefused(Exception):
    """A move the state machine does not allow; a bug or a stale page, never silently done."""


def move(
    session: Session,
    export: Export,
    state: str,
    *,
    actor: User | None = None,
    now: datetime,
    message: str | None = None,
    fix: str | None = None,
    code: str | None = None,
    next_attempt_at: datetime | None = None,
    action: str | None = None,
    **details: Any,
) -> None:
    """Move ``export`` to ``state``, keeping its error fields, the audit log and its alert (a day waiting
    for a person, see :mod:`backoffice.notify.export_alerts`) in step. The audit entry is
    ``export.<state>``, or ``action`` when a person's action names it better (``export.resend``)."""
    if state not in TRANSITIONS.get(export.state, frozenset()) and state != export.state:
        raise TransitionRefused(f"export {export.id}: {export.state} -> {state} is not a transition")
    previous = export.state
    export.state = state
    export.updated_at = now
    export.error_message = message
    export.error_fix = fix
    export.error_code = code
    export.next_attempt_at = next_attempt_at
    if state != POSTING:
        export.claimed_by = None
        export.claimed_at = None
    if state == POSTED:
        export.posted_at = now
    if message:
        details["message"] = message
    if code:
        details["code"] = code
    record(
        session,
        actor,
        action or f"export.{state}",
        store=export.store,
        subject=f"{export.channel} {export.business_date.isoformat()} Z {export.z_report.z_number}",
        previous=previous,
        **details,
    )
    export_moved(session, export, state, now)


def retry_delay(
    attempts: int, retry_after: float | None = None, rng: random.Random | None = None
) -> timedelta:
    """How long to wait before attempt ``attempts + 1``: exponential with full jitter, never less than
    what the server asked for (Retry-After), never more than an hour."""
    rng = rng or random.Random()
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    delay = timedelta(seconds=rng.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds()))
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return min(delay, BACKOFF_CAP)
