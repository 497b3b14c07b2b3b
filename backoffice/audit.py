"""The audit log: who did what, when. Services call :func:`record`; the caller's transaction keeps the
entry and the change together, so there is never a change without its entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from backoffice.models import AuditEntry, Register, Store, User


def actor_name(actor: User | Register | None) -> str:
    if isinstance(actor, User):
        return actor.email
    if isinstance(actor, Register):
        return f"register:{actor.register_key}"
    return "system"


def entry_values(
    actor: User | Register | None, action: str, store: Store | None = None, subject: str = "", **details: Any
) -> dict[str, Any]:
    """The columns of one audit entry."""
    return {
        "agency_id": store.agency_id if store else (actor.agency_id if isinstance(actor, User) else None),
        "store_id": store.id if store else None,
        "user_id": actor.id if isinstance(actor, User) else None,
        "actor": actor_name(actor),
        "action": action,
        "subject": subject,
        "details": details,
    }


def record(
    session: Session,
    actor: User | Register | None,
    action: str,
    store: Store | None = None,
    subject: str = "",
    **details: Any,
) -> None:
    """Write one entry in the caller's transaction."""
    session.execute(insert(AuditEntry), entry_values(actor, action, store, subject, **details))
