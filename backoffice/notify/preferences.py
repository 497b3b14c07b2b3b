"""Who is told what: each user's chosen kinds and stores (never beyond the stores they may see), and
whether an agency admin takes a daily digest. Without a saved choice a user gets every kind for every
store they may see; an agency admin gets them as the daily digest, a store manager one mail each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.access import visible_stores
from backoffice.models import AGENCY_ADMIN, Store, User, UserStore
from backoffice.notify.models import NotificationPreference
from backoffice.notify.texts import KINDS


@dataclass(frozen=True)
class Choice:
    kinds: frozenset[str]
    #: None: every store the user may see, new ones included.
    store_ids: frozenset[int] | None
    digest: bool


def default(user: User) -> Choice:
    return Choice(frozenset(KINDS), None, user.is_agency_admin)


def of(session: Session, user: User) -> Choice:
    row = session.get(NotificationPreference, user.id)
    return default(user) if row is None else of_row(row, user)


def save(session: Session, user: User, kinds: set[str], store_ids: set[int] | None, digest: bool) -> Choice:
    """Keep the user's choice; stores they may not see and unknown kinds are dropped."""
    if store_ids is not None:
        visible = set(session.scalars(visible_stores(user).with_only_columns(Store.id)))
        store_ids = store_ids & visible
    row = session.get(NotificationPreference, user.id) or NotificationPreference(user_id=user.id)
    row.kinds = sorted(kinds & set(KINDS))
    row.store_ids = None if store_ids is None else sorted(store_ids)
    row.digest = digest and user.is_agency_admin
    session.add(row)
    return of(session, user)


def recipients(session: Session, store: Store, kind: str) -> list[tuple[User, bool]]:
    """The active users of the store's agency who may see it and chose to hear about ``kind`` there,
    each with whether they take the digest."""
    managers = select(UserStore.user_id).where(UserStore.store_id == store.id)
    users = session.scalars(
        select(User)
        .where(
            User.agency_id == store.agency_id,
            User.active.is_(True),
            (User.role == AGENCY_ADMIN) | User.id.in_(managers),
        )
        .order_by(User.id)
    ).all()
    chosen = {
        row.user_id: row
        for row in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_([u.id for u in users]))
        )
    }
    found = []
    for user in users:
        row = chosen.get(user.id)
        choice = default(user) if row is None else of_row(row, user)
        wanted = kind in choice.kinds or kind not in KINDS  # a kind new since they chose: told
        if wanted and (choice.store_ids is None or store.id in choice.store_ids):
            found.append((user, choice.digest))
    return found


def of_row(row: NotificationPreference, user: User) -> Choice:
    stores = None if row.store_ids is None else frozenset(row.store_ids)
    return Choice(frozenset(row.kinds), stores, row.digest and user.is_agency_admin)
