"""The dispatcher: turns outbox events into mails and webhook calls, and sends them.

Run by the scheduler every ``notify.dispatch_seconds`` (and callable directly). Each step is short:
claim due rows and read what they need (one transaction), talk to the SMTP server or the webhook
receiver with no transaction open, then record the outcome (another). A failure leaves the row pending
with exponential backoff and jitter; nothing here runs inside an export attempt, so a mail server or a
receiver that is down never slows one.
"""

from __future__ import annotations

import logging
import random
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import exists, insert, select
from sqlalchemy.orm import sessionmaker

from backoffice.models import Alert, User
from backoffice.notify import mail, outbox, preferences, webhook
from backoffice.notify.models import (
    OPENED,
    RESOLVED,
    AgencyWebhook,
    MailDelivery,
    NotificationEvent,
    WebhookDelivery,
)
from backoffice.pipeline.states import retry_delay
from config.settings import Settings
from exporters.fortnox.crypto import TokenCipher

log = logging.getLogger(__name__)

#: A claimed row is left alone by other dispatchers for this long (a dispatcher that died mid-send).
CLAIM = timedelta(minutes=5)
#: Deliveries give up after this many attempts (about a day with the backoff capped at an hour).
MAX_ATTEMPTS = 30
#: Alerts written without their event (by code that inserts alerts directly) are caught up this far back.
CATCH_UP = timedelta(days=1)
BATCH = 200
SETTINGS_PATH = "/notifications"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class _Mail:
    ids: list[int]
    message: EmailMessage


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.transport = transport
        self.rng = rng or random.Random()
        self._cipher: TokenCipher | None = None

    @property
    def cipher(self) -> TokenCipher:
        if self._cipher is None:
            self._cipher = TokenCipher.from_settings(self.settings.security)
        return self._cipher

    # -- the job ---------------------------------------------------------------------------------------

    def run(self, now: datetime | None = None) -> dict[str, int]:
        """One round: events fanned out, single mails and webhooks sent. Returns the counts."""
        now = now or utcnow()
        return {
            "caught_up": self.catch_up(now),
            "fanned_out": self.fan_out(now),
            "mails_sent": self.send_mails(now),
            "webhooks_delivered": self.send_webhooks(now),
        }

    def catch_up(self, now: datetime) -> int:
        """Events for recent alerts that have none: an alert inserted by a statement of its own rather
        than through backoffice.services.alerts. The unique (alert, event) key keeps it to one each."""
        events = NotificationEvent.__table__
        opened = exists().where(events.c.alert_id == Alert.id, events.c.event == OPENED)
        resolved = exists().where(events.c.alert_id == Alert.id, events.c.event == RESOLVED)
        since = now - CATCH_UP
        with self.sessions() as db:
            rows = []
            for alert in db.scalars(select(Alert).where(Alert.created_at >= since, ~opened).limit(BATCH)):
                rows.append(_row(alert, OPENED, alert.created_at))
            for alert in db.scalars(
                select(Alert).where(Alert.resolved_at >= since, opened, ~resolved).limit(BATCH)
            ):
                rows.append(_row(alert, RESOLVED, alert.resolved_at))
            outbox.write(db.connection(), rows)
            db.commit()
        if rows:
            log.info("%d notification events caught up", len(rows))
        return len(rows)

    def fan_out(self, now: datetime) -> int:
        """Each pending event becomes one mail row per person who wants it and one webhook row."""
        with self.sessions() as db:
            pending = db.scalars(
                select(NotificationEvent)
                .where(NotificationEvent.fanned_out_at.is_(None))
                .order_by(NotificationEvent.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            if not pending:
                return 0
            hooked = set(db.scalars(select(AgencyWebhook.agency_id).where(AgencyWebhook.active.is_(True))))
            mails, calls = [], []
            mailing = bool(self.settings.smtp.host)  # without a mail server, no mail piles up for later
            for event in pending:
                for user, digest in preferences.recipients(db, event.store, event.kind) if mailing else ():
                    mails.append(
                        {"event_id": event.id, "user_id": user.id, "digest": digest, "next_attempt_at": now}
                    )
                if event.store.agency_id in hooked:
                    calls.append(
                        {"event_id": event.id, "agency_id": event.store.agency_id, "next_attempt_at": now}
                    )
                event.fanned_out_at = now
            for table, rows in ((MailDelivery, mails), (WebhookDelivery, calls)):
                if rows:
                    db.execute(insert(table).values(created_at=now, attempts=0), rows)
            db.commit()
            return len(pending)

    # -- mail ------------------------------------------------------------------------------------------

    def send_mails(self, now: datetime) -> int:
        """Send each due single mail. Returns how many went."""
        return self._send(now, digest=False)

    def send_digests(self, now: datetime | None = None) -> int:
        """Send every agency admin who takes the digest one mail listing their pending events."""
        now = now or utcnow()
        self.fan_out(now)
        return self._send(now, digest=True)

    def _send(self, now: datetime, digest: bool) -> int:
        if not self.settings.smtp.host:
            return 0
        mails = self._claim_mails(now, digest)
        if not mails:
            return 0
        errors: dict[int, str] = {}
        try:
            with mail.smtp_connection(self.settings.smtp) as server:
                for item in mails:
                    try:
                        server.send_message(item.message)
                    except (smtplib.SMTPException, OSError) as exc:
                        errors.update(dict.fromkeys(item.ids, _describe(exc)))
        except (smtplib.SMTPException, OSError) as exc:
            # The connection or the login failed (closing never raises): nothing was sent.
            errors.update(dict.fromkeys((i for item in mails for i in item.ids), _describe(exc)))
        if errors:
            log.warning("%d notification mails not sent: %s", len(errors), next(iter(errors.values())))
        ids = [i for item in mails for i in item.ids]
        self._record(MailDelivery, ids, errors, now, lambda row: setattr(row, "sent_at", now))
        return sum(1 for item in mails if not set(item.ids) & set(errors))

    def _claim_mails(self, now: datetime, digest: bool) -> list[_Mail]:
        due = (
            select(MailDelivery)
            .where(
                MailDelivery.digest.is_(digest),
                MailDelivery.sent_at.is_(None),
                MailDelivery.failed_at.is_(None),
                MailDelivery.next_attempt_at <= now,
            )
            .order_by(MailDelivery.user_id, MailDelivery.id)
            .limit(BATCH * (5 if digest else 1))
            .with_for_update(skip_locked=True)
        )
        with self.sessions() as db:
            rows = db.scalars(due).all()
            users = {u.id: u for u in db.scalars(select(User).where(User.id.in_({r.user_id for r in rows})))}
            mails: list[_Mail] = []
            sender = self.settings.smtp.sender
            settings_link = self.link(SETTINGS_PATH)
            by_user: dict[int, list[MailDelivery]] = {}
            for row in rows:
                row.next_attempt_at = now + CLAIM
                by_user.setdefault(row.user_id, []).append(row)
            for user_id, user_rows in by_user.items():
                user = users[user_id]
                language = user.language or self.settings.web.default_language
                notices = [self.notice(row.event) for row in user_rows]
                if digest:
                    message = mail.digest(notices, user.email, sender, language, settings_link)
                    mails.append(_Mail([row.id for row in user_rows], message))
                else:
                    for row, notice in zip(user_rows, notices, strict=True):
                        message = mail.single(notice, user.email, sender, language, settings_link)
                        mails.append(_Mail([row.id], message))
            db.commit()
        return mails

    # -- webhooks --------------------------------------------------------------------------------------

    def send_webhooks(self, now: datetime) -> int:
        """POST each due webhook delivery (short timeout); returns how many were answered 2xx."""
        calls = self._claim_calls(now)
        if not calls:
            return 0
        errors: dict[int, str] = {}
        timeout = self.settings.notify.webhook_timeout_seconds
        private_ok = self.settings.notify.webhook_private_addresses
        with httpx.Client(transport=self.transport, timeout=timeout, follow_redirects=False) as client:
            # Checked again right before the calls (the name may point elsewhere since it was saved),
            # once per address in this round: a batch holds many deliveries to the same agency.
            private: dict[str, str | None] = {}
            for delivery_id, url, secret, event_id, body in calls:
                if not private_ok and url not in private:
                    private[url] = webhook.private_address(url)
                address = private.get(url)
                if address is not None:
                    errors[delivery_id] = (
                        f"not sent: the address reaches {address}, inside this server's network "
                        "(notify.webhook_private_addresses is off)"
                    )
                    continue
                try:
                    answer = client.post(url, content=body, headers=webhook.headers(secret, event_id, body))
                    if not answer.is_success:
                        errors[delivery_id] = f"HTTP {answer.status_code}"
                except httpx.HTTPError as exc:
                    errors[delivery_id] = _describe(exc)
        if errors:
            log.warning("%d webhook deliveries failed: %s", len(errors), next(iter(errors.values())))
        self._record(
            WebhookDelivery, [c[0] for c in calls], errors, now, lambda row: setattr(row, "delivered_at", now)
        )
        return len(calls) - len(errors)

    def _claim_calls(self, now: datetime) -> list[tuple[int, str, str, int, bytes]]:
        with self.sessions() as db:
            rows = db.execute(
                select(WebhookDelivery, AgencyWebhook)
                .join(AgencyWebhook, AgencyWebhook.agency_id == WebhookDelivery.agency_id)
                .where(
                    WebhookDelivery.delivered_at.is_(None),
                    WebhookDelivery.failed_at.is_(None),
                    WebhookDelivery.next_attempt_at <= now,
                    AgencyWebhook.active.is_(True),
                )
                .order_by(WebhookDelivery.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            ).all()
            calls = []
            for delivery, hook in rows:
                delivery.next_attempt_at = now + CLAIM
                body = webhook.body_of(self.payload(delivery.event))
                calls.append(
                    (delivery.id, hook.url, self.cipher.decrypt(hook.secret_enc), delivery.event_id, body)
                )
            db.commit()
        return calls

    # -- shared ----------------------------------------------------------------------------------------

    def _record(
        self,
        model: type[MailDelivery] | type[WebhookDelivery],
        ids: list[int],
        errors: dict[int, str],
        now: datetime,
        done: Callable[[Any], None],
    ) -> None:
        with self.sessions() as db:
            for row in db.scalars(select(model).where(model.id.in_(ids))):
                if row.id in errors:
                    row.attempts += 1
                    row.last_error = errors[row.id][:1000]
                    if row.attempts >= MAX_ATTEMPTS:
                        row.failed_at = now
                    else:
                        row.next_attempt_at = now + retry_delay(row.attempts, rng=self.rng)
                else:
                    done(row)
                    row.last_error = None
            db.commit()

    def link(self, path: str) -> str:
        return self.settings.web.public_url.rstrip("/") + path

    def notice(self, event: NotificationEvent) -> mail.Notice:
        return mail.Notice(
            event_id=event.id,
            event=event.event,
            kind=event.kind,
            store_name=event.store.name,
            org_number=event.store.org_number,
            day=event.day,
            at=event.created_at,
            message=event.message,
            fix=event.fix,
            link=self.link(event.path),
        )

    def payload(self, event: NotificationEvent) -> dict[str, Any]:
        """The webhook's JSON for an event."""
        store = event.store
        return {
            "id": event.id,
            "type": f"alert.{event.event}",
            "kind": event.kind,
            "alert_id": event.alert_id,
            "agency_id": store.agency_id,
            "store": {"id": store.id, "name": store.name, "org_number": store.org_number},
            "day": event.day.isoformat() if event.day else None,
            "message": event.message,
            "fix": event.fix,
            "link": self.link(event.path),
            "occurred_at": event.created_at.replace(tzinfo=UTC).isoformat(),
        }


def _row(alert: Alert, event: str, at: datetime | None) -> outbox.EventRow:
    return outbox.event_row(
        alert.id, alert.store_id, alert.kind, event, alert.message, alert.fix, at or utcnow()
    )


def _describe(exc: BaseException) -> str:
    """An error for the log and the row: its class and text (no credentials are in either)."""
    return f"{type(exc).__name__}: {exc}"[:500]
