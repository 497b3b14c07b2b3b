"""Registers: enrollment by one-time code, device tokens, last contact, revocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from backoffice import audit
from backoffice.models import EnrollmentCode, Register, Store, SyncSettings, User, utcnow
from backoffice.services.mapping import default_settings
from backoffice.tokens import digest, new_device_token, new_enrollment_code, normalize_code
from exporters.core.errors import Problem

CODE_LIFETIME = timedelta(hours=24)
KEY_MAX = 100


@dataclass(frozen=True)
class Enrolled:
    register: Register
    device_token: str


class EnrollmentRefused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def create_enrollment_code(session: Session, store: Store, user: User) -> tuple[str, EnrollmentCode]:
    """A new one-time code for ``store``; the plain code is shown once and only its hash is kept."""
    code = new_enrollment_code()
    row = EnrollmentCode(
        store_id=store.id,
        code_hash=digest(code),
        created_by_id=user.id,
        expires_at=utcnow() + CODE_LIFETIME,
    )
    session.add(row)
    audit.record(session, user, "register.code_created", store, expires_at=row.expires_at.isoformat())
    return code, row


def _text(body: dict, name: str, problems: list[Problem], fix: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(name, "is missing or not text", fix))
        return ""
    if len(value) > KEY_MAX:
        problems.append(Problem(name, f"is longer than {KEY_MAX} characters", "use a shorter id"))
        return ""
    return value.strip()


def enroll(session: Session, body: object) -> Enrolled:
    """Trade a one-time code for a device token. A register enrolled again (a reinstalled bridge) keeps
    its row and history and gets a new token; the old one stops working."""
    if not isinstance(body, dict):
        raise EnrollmentRefused(
            [Problem("body", "must be a JSON object", 'send {"code", "register_id", ...}')]
        )
    problems: list[Problem] = []
    code = _text(body, "code", problems, "type the code shown on the Registers page")
    register_key = _text(body, "register_id", problems, "send the register's id as in its Z-reports")
    control_unit = _text(body, "control_unit_id", problems, "send the control unit's id")
    row = None
    if code:
        row = session.scalars(
            select(EnrollmentCode).where(EnrollmentCode.code_hash == digest(normalize_code(code)))
        ).one_or_none()
        if row is None or row.used_at is not None or row.expires_at < utcnow():
            problems.append(
                Problem("code", "is unknown, used or expired", "create a new code on the Registers page")
            )
    if problems or row is None:
        raise EnrollmentRefused(problems)

    token = new_device_token()
    register = session.scalars(
        select(Register).where(Register.store_id == row.store_id, Register.register_key == register_key)
    ).one_or_none()
    if register is None:
        register = Register(store_id=row.store_id, register_key=register_key)
        session.add(register)
    register.control_unit_id = control_unit
    register.token_hash = digest(token)
    register.revoked_at = None
    register.last_contact_at = utcnow()
    session.flush()
    row.used_at = utcnow()
    row.register_id = register.id
    audit.record(session, register, "register.enrolled", session.get(Store, row.store_id), register_key)
    return Enrolled(register, token)


def authenticate(session: Session, token: str) -> Register | None:
    """The enrolled, unrevoked register whose device token this is."""
    if not token:
        return None
    return session.scalars(
        select(Register)
        .where(Register.token_hash == digest(token), Register.revoked_at.is_(None))
        .options(joinedload(Register.store))
    ).one_or_none()


#: The register API's device lookup, built once: the register, its store and the store's sync settings
#: (outer joined: a store that never saved them gets the defaults) in one statement.
_DEVICE = (
    select(
        Register.id,
        Register.store_id,
        Register.register_key,
        Register.control_unit_id,
        Register.last_contact_at,
        Store.agency_id,
        Store.org_number,
        Store.name,
        Store.timezone,
        SyncSettings.store_id.label("settings_store_id"),
        SyncSettings.sync_sales,
        SyncSettings.invoicing,
        SyncSettings.voucher_series,
        SyncSettings.cost_center,
        SyncSettings.project,
        SyncSettings.posting_time,
    )
    .join(Store, Store.id == Register.store_id)
    .outerjoin(SyncSettings, SyncSettings.store_id == Register.store_id)
    .where(Register.token_hash == bindparam("token_hash"), Register.revoked_at.is_(None))
)


def device(session: Session, token: str) -> Register | None:
    """Like :func:`authenticate`, for the register API's hot path: one plain query, and the register
    (with its store and the store's sync settings, or their defaults) as a detached snapshot to read, not to
    change through the session."""
    if not token:
        return None
    row = session.connection().execute(_DEVICE, {"token_hash": digest(token)}).one_or_none()
    if row is None:
        return None
    store = Store(
        id=row.store_id,
        agency_id=row.agency_id,
        org_number=row.org_number,
        name=row.name,
        timezone=row.timezone,
    )
    if row.settings_store_id is None:
        store.settings = default_settings(row.store_id)
    else:
        store.settings = SyncSettings(
            store_id=row.store_id,
            sync_sales=row.sync_sales,
            invoicing=row.invoicing,
            voucher_series=row.voucher_series,
            cost_center=row.cost_center,
            project=row.project,
            posting_time=row.posting_time,
        )
    return Register(
        id=row.id,
        store_id=row.store_id,
        register_key=row.register_key,
        control_unit_id=row.control_unit_id,
        last_contact_at=row.last_contact_at,
        store=store,
    )


def revoke(session: Session, register: Register, user: User) -> None:
    register.revoked_at = utcnow()
    audit.record(session, user, "register.revoked", register.store, register.register_key)
