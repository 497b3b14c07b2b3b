"""An agency admin's management of the agency: adding stores, inviting users, choosing which stores a
store manager manages, deactivating a user. Every change is in the audit log with the admin as actor;
nothing here commits (the view does)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.auth import UserError, create_user
from backoffice.models import ROLES, STORE_MANAGER, Agency, Store, User, UserStore
from exporters.core.errors import Problem
from exporters.core.zreport import check_digit, org_number_is_valid

#: Offered first on the form; any IANA time zone is accepted.
TIMEZONES = ("Europe/Stockholm", "Europe/Helsinki", "Europe/Oslo", "Europe/Copenhagen")
NAME_MAX = 200


def user_or_404(session: Session, admin: User, user_id: int) -> User:
    """A user of the admin's agency; anyone else's does not exist for them (404)."""
    user = session.get(User, user_id)
    if user is None or user.agency_id != admin.agency_id:
        abort(404)
    return user


def agency_stores(session: Session, admin: User) -> list[Store]:
    return list(session.scalars(select(Store).where(Store.agency_id == admin.agency_id).order_by(Store.name)))


def agency_users(session: Session, admin: User) -> list[User]:
    return list(session.scalars(select(User).where(User.agency_id == admin.agency_id).order_by(User.email)))


def _org_number_problem(org_number: str) -> Problem | None:
    digits = org_number.replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        return Problem(
            "org_number", f"{org_number!r} is not NNNNNN-NNNN", "type the 10 digits, e.g. 556677-8899"
        )
    if not org_number_is_valid(org_number):
        return Problem(
            "org_number",
            f"{org_number} fails the check digit (the last digit should be {check_digit(digits[:9])})",
            "check the number on the registration certificate (Bolagsverket)",
        )
    return None


def add_store(session: Session, admin: User, form: Mapping[str, str]) -> Store | list[Problem]:
    """A new store of the admin's agency from the form (name, org_number, timezone), or every problem."""
    problems = []
    name = form.get("name", "").strip()
    if not name or len(name) > NAME_MAX:
        problems.append(
            Problem(
                "name", "is missing or too long", f"give the store a name of at most {NAME_MAX} characters"
            )
        )
    org_number = form.get("org_number", "").strip()
    problem = _org_number_problem(org_number)
    if problem is not None:
        problems.append(problem)
    timezone = form.get("timezone", "").strip() or TIMEZONES[0]
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Problem("timezone", f"{timezone!r} is not a time zone", "pick one, e.g. Europe/Stockholm")
        )
    if problems:
        return problems
    digits = org_number.replace("-", "")
    store = Store(
        agency_id=admin.agency_id, name=name, org_number=f"{digits[:6]}-{digits[6:]}", timezone=timezone
    )
    session.add(store)
    session.flush()
    audit.record(session, admin, "store.created", store, name, org_number=store.org_number, timezone=timezone)
    return store


def _chosen_stores(session: Session, admin: User, store_ids: Iterable[str]) -> list[Store] | None:
    """The agency's stores named by id in a form; None if one is not the agency's (or not an id)."""
    try:
        wanted = {int(value) for value in store_ids}
    except ValueError:
        return None
    if not wanted:
        return []
    stores = list(
        session.scalars(select(Store).where(Store.id.in_(wanted), Store.agency_id == admin.agency_id))
    )
    return stores if len(stores) == len(wanted) else None


@dataclass(frozen=True)
class Invited:
    user: User
    #: Shown once to the admin, who hands it over; only its hash is kept.
    temporary_password: str


def invite_user(
    session: Session, admin: User, form: Mapping[str, str], store_ids: Iterable[str]
) -> Invited | list[Problem]:
    """A new user of the admin's agency with a temporary password, or every problem with the form."""
    problems = []
    role = form.get("role", "")
    if role not in ROLES:
        problems.append(Problem("role", f"{role!r} is not a role", "pick agency admin or store manager"))
    stores = _chosen_stores(session, admin, store_ids)
    if stores is None:
        problems.append(Problem("stores", "names a store that is not the agency's", "pick from the list"))
    elif role == STORE_MANAGER and not stores:
        problems.append(Problem("stores", "none chosen", "a store manager needs at least one store"))
    email = form.get("email", "").strip().lower()
    if "@" not in email or len(email) > 254:
        problems.append(Problem("email", f"{email!r} is not an e-mail address", "type the person's e-mail"))
    elif session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        problems.append(Problem("email", f"{email} already has an account", "each person has one account"))
    name = form.get("name", "").strip()
    if len(name) > NAME_MAX:
        problems.append(Problem("name", "is too long", f"at most {NAME_MAX} characters"))
    if problems:
        return problems
    password = secrets.token_urlsafe(12)
    agency = session.get(Agency, admin.agency_id)
    try:
        user = create_user(
            session, email, password, role, agency, stores or [], name, actor=admin, must_change_password=True
        )
    except UserError as exc:  # the checks above cover its rules; kept as a field error all the same
        return [Problem("email", str(exc), "")]
    return Invited(user, password)


def set_stores(session: Session, admin: User, user: User, store_ids: Iterable[str]) -> list[Problem]:
    """Make the user a manager of exactly the chosen stores of the agency."""
    stores = _chosen_stores(session, admin, store_ids)
    if stores is None:
        return [Problem("stores", "names a store that is not the agency's", "pick from the list")]
    if user.role == STORE_MANAGER and not stores:
        return [
            Problem(
                "stores",
                "none chosen",
                "a store manager needs at least one store; deactivate the user instead",
            )
        ]
    session.execute(delete(UserStore).where(UserStore.user_id == user.id))
    session.add_all(UserStore(user_id=user.id, store_id=store.id) for store in stores)
    session.expire(user, ["stores"])
    audit.record(
        session, admin, "user.stores_changed", None, user.email, stores=sorted(s.name for s in stores)
    )
    return []


def set_active(session: Session, admin: User, user: User, active: bool) -> list[Problem]:
    """Deactivate (they can no longer sign in, and a signed-in session ends) or reactivate a user."""
    if user.id == admin.id and not active:
        return [Problem("user", "you cannot deactivate yourself", "ask another agency admin")]
    if user.active != active:
        user.active = active
        audit.record(session, admin, "user.activated" if active else "user.deactivated", None, user.email)
    return []


def managed_store_ids(session: Session, users: Iterable[User]) -> dict[int, set[int]]:
    """Which stores each user manages (one statement for the whole list)."""
    ids = [user.id for user in users]
    managed: dict[int, set[int]] = {user_id: set() for user_id in ids}
    for user_id, store_id in session.execute(
        select(UserStore.user_id, UserStore.store_id).where(UserStore.user_id.in_(ids))
    ):
        managed[user_id].add(store_id)
    return managed
