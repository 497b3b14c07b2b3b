"""Mail: composing a notification (or a day's digest) in the reader's language, and sending it over
SMTP with the standard library (STARTTLS, SSL or plain, by ``[smtp]``). The SMTP server is the seam:
tests run a real one on 127.0.0.1."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from backoffice.notify.texts import kind_of, say
from config.settings import SmtpSettings


@dataclass(frozen=True)
class Notice:
    """One event as a reader sees it (read from the database before any mail is sent)."""

    event_id: int
    event: str
    kind: str
    store_name: str
    org_number: str
    day: date | None
    at: datetime
    message: str
    fix: str
    link: str


def _lines(notice: Notice, language: str) -> list[str]:
    kind = kind_of(notice.kind)
    resolved = notice.event == "resolved"
    title = say(kind.title, language)
    lines = [f"{say('Resolved', language)}: {title}" if resolved else title, ""]
    lines.append(f"{say('Store', language)}: {notice.store_name} ({notice.org_number})")
    lines.append(f"{say('Day', language)}: {(notice.day or notice.at.date()).isoformat()}")
    lines.append(f"{say('What happened', language)}: {notice.message}")
    if resolved:
        lines.append(say("Nothing more to do: this is resolved.", language))
    else:
        fix = say(kind.fix, language) if kind.fix else ""
        if notice.fix and notice.fix.rstrip(".").lower() != kind.fix.rstrip(".").lower():
            fix = f"{fix} ({notice.fix})" if fix else notice.fix
        lines.append(f"{say('What to do', language)}: {fix}")
    lines.append(f"{say('Open', language)}: {notice.link}")
    return lines


def subject_of(notice: Notice, language: str) -> str:
    title = say(kind_of(notice.kind).title, language)
    day = (notice.day or notice.at.date()).isoformat()
    if notice.event == "resolved":
        title = f"{say('Resolved', language)}: {title}"
    return f"[Dagskassa] {notice.store_name} {day}: {title}"


def single(notice: Notice, to: str, sender: str, language: str, settings_link: str) -> EmailMessage:
    """The mail for one event."""
    footer = say("You get this mail because of your notification settings:", language)
    body = [*_lines(notice, language), "", "--", footer, settings_link]
    return _message(subject_of(notice, language), body, to, sender, language)


def digest(
    notices: Sequence[Notice], to: str, sender: str, language: str, settings_link: str
) -> EmailMessage:
    """One mail listing a day's events, oldest first."""
    subject = (
        f"[Dagskassa] {say('Daily summary', language)}: {say('{count} events', language, count=len(notices))}"
    )
    body: list[str] = []
    for notice in notices:
        body += [*_lines(notice, language), "", "-" * 40, ""]
    body += [say("You get this mail because of your notification settings:", language), settings_link]
    return _message(subject, body, to, sender, language)


def _message(subject: str, body: list[str], to: str, sender: str, language: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "dagskassa")
    message.set_content("\n".join(body) + "\n")
    message["Content-Language"] = language  # after set_content, which clears the Content-* headers
    return message


class MailNotConfigured(Exception):
    """smtp.host is empty: mail stays pending until it is set."""


@contextmanager
def smtp_connection(settings: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """An SMTP session by ``[smtp]``, logged in if a user name is set; closed on leaving."""
    if not settings.host:
        raise MailNotConfigured("smtp.host is empty")
    context = ssl.create_default_context(cafile=settings.ca_file or None)
    if settings.tls == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout_seconds, context=context
        )
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    try:
        if settings.tls == "starttls":
            server.starttls(context=context)
        if settings.username:
            server.login(settings.username, settings.password)
        yield server
    finally:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()
