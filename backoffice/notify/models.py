"""The notification tables: the outbox of events, who wants which, and what was delivered.

An event row is written in the same transaction as the alert it reports (opened or resolved), so a
committed alert always has its event and a rolled-back one never does; the unique key on
``(alert_id, event)`` keeps it to one. The dispatcher fans each event out into one mail row per
recipient and one webhook row per agency, and sends those; they carry their own attempts and backoff.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import Base
from backoffice.models import Store, utcnow

OPENED = "opened"
RESOLVED = "resolved"


class NotificationEvent(Base):
    """An alert opened or resolved: the outbox the dispatcher reads."""

    __tablename__ = "notification_events"
    __table_args__ = (
        UniqueConstraint("alert_id", "event"),
        Index("ix_notification_events_pending", "fanned_out_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(30))
    #: ``opened`` or ``resolved``.
    event: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    fix: Mapped[str] = mapped_column(Text, default="")
    #: The business day it is about, when it is about one.
    day: Mapped[date | None]
    #: The BackOffice page that fixes it, relative to ``web.public_url``.
    path: Mapped[str] = mapped_column(String(300), default="/")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the dispatcher turned it into mail and webhook rows; NULL while pending.
    fanned_out_at: Mapped[datetime | None]

    store: Mapped[Store] = relationship()


class NotificationPreference(Base):
    """What one user wants; no row means the defaults (:func:`backoffice.notify.preferences.of`)."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The stores chosen; NULL is every store the user may see, new ones included.
    store_ids: Mapped[list[int] | None] = mapped_column(JSON)
    #: One mail a day listing the events instead of one mail each (agency admins only).
    digest: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MailDelivery(Base):
    """One event for one person: sent alone, or in their next digest."""

    __tablename__ = "notification_mails"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        Index("ix_notification_mails_due", "sent_at", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("notification_events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    digest: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    #: Set when the retries are used up.
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[NotificationEvent] = relationship()


class AgencyWebhook(Base):
    """Where an agency wants its events POSTed, and the secret they are signed with (encrypted)."""

    __tablename__ = "agency_webhooks"
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret_enc: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One event to one agency's webhook, retried with backoff until it is answered 2xx."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "agency_id"),
        Index("ix_webhook_deliveries_due", "delivered_at", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("notification_events.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    #: Set when the retries are used up; the delivery stays for the record.
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[NotificationEvent] = relationship()
