"""An agency's webhook: its address and its signing secret, which is generated here, shown to the admin
once and kept encrypted (the dispatcher needs it back to sign)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import User
from backoffice.notify.models import AgencyWebhook, WebhookDelivery
from backoffice.notify.webhook import new_secret, private_address
from exporters.fortnox.crypto import TokenCipher


def of(session: Session, agency_id: int) -> AgencyWebhook | None:
    return session.get(AgencyWebhook, agency_id)


def pending(session: Session, agency_id: int) -> int:
    """Deliveries not answered yet (and not given up)."""
    return session.scalar(
        select(func.count()).where(
            WebhookDelivery.agency_id == agency_id,
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.failed_at.is_(None),
        )
    )


class PrivateAddress(ValueError):
    """A webhook address inside the server's own network (see ``notify.webhook_private_addresses``)."""

    def __init__(self, url: str, address: str) -> None:
        super().__init__(url)
        self.address = address


def save(
    session: Session,
    admin: User,
    url: str,
    cipher: TokenCipher,
    renew_secret: bool,
    private_addresses: bool = False,
) -> str | None:
    """Set the agency's webhook address; a first webhook, or ``renew_secret``, gets a new secret, which
    is returned (the only time it is readable). Raises ValueError for an address that is not http(s),
    and :class:`PrivateAddress` for one that reaches into the server's network unless
    ``private_addresses``."""
    url = url.strip()
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        raise ValueError(url)
    address = None if private_addresses else private_address(url)
    if address is not None:
        raise PrivateAddress(url, address)
    hook = of(session, admin.agency_id)
    secret = None
    if hook is None:
        secret = new_secret()
        hook = AgencyWebhook(agency_id=admin.agency_id, url=url, secret_enc=cipher.encrypt(secret))
        session.add(hook)
    elif renew_secret:
        secret = new_secret()
        hook.secret_enc = cipher.encrypt(secret)
    hook.url, hook.active = url, True
    audit.record(session, admin, "notify.webhook_saved", url=url, new_secret=secret is not None)
    return secret


def remove(session: Session, admin: User) -> None:
    hook = of(session, admin.agency_id)
    if hook is not None:
        session.delete(hook)
        audit.record(session, admin, "notify.webhook_removed", url=hook.url)
