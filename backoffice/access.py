"""Who may see what. Every query a person makes for stores (and everything under a store) starts here:
an agency admin sees every store of the agency, a store manager the stores they manage, and anything
else does not exist for them (404, never 403, so ids of other agencies leak nothing)."""

from __future__ import annotations

from flask import abort
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from backoffice.models import Store, User, UserStore


def visible_stores(user: User) -> Select[tuple[Store]]:
    query = select(Store).where(Store.agency_id == user.agency_id)
    if not user.is_agency_admin:
        query = query.join(UserStore, UserStore.store_id == Store.id).where(UserStore.user_id == user.id)
    return query


def store_or_404(session: Session, user: User, store_id: int) -> Store:
    store = session.scalars(visible_stores(user).where(Store.id == store_id)).one_or_none()
    if store is None:
        abort(404)
    return store
