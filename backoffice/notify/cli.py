"""``dagskassa notify``: send pending notifications now, and a test mail to check ``[smtp]``."""

from __future__ import annotations

import argparse
import smtplib


def register(subparsers: argparse._SubParsersAction) -> None:
    notify = subparsers.add_parser("notify", help="notifications: send pending ones now, or a test mail")
    commands = notify.add_subparsers(dest="notify_command", metavar="ACTION", required=True)
    send = commands.add_parser("send", help="one round of the dispatcher: pending mails and webhooks")
    send.add_argument("--digest", action="store_true", help="send the daily digests now as well")
    send.set_defaults(handler=send_command)
    test = commands.add_parser("test-mail", help="send a test mail through [smtp] to ADDRESS")
    test.add_argument("address")
    test.set_defaults(handler=test_mail_command)


def send_command(args: argparse.Namespace) -> int:
    from backoffice.db import make_engine, make_sessionmaker
    from backoffice.notify.dispatch import Dispatcher

    settings = args.settings
    dispatcher = Dispatcher(settings, make_sessionmaker(make_engine(settings.database.url)))
    counts = dispatcher.run()
    if args.digest:
        counts["digests_sent"] = dispatcher.send_digests()
    print(" ".join(f"{name}={count}" for name, count in counts.items()))
    return 0


def test_mail_command(args: argparse.Namespace) -> int:
    from email.message import EmailMessage

    from backoffice.notify.mail import MailNotConfigured, smtp_connection

    smtp = args.settings.smtp
    message = EmailMessage()
    message["Subject"] = "[Dagskassa] Testbrev / test mail"
    message["From"], message["To"] = smtp.sender, args.address
    message.set_content("Dagskassa kan skicka e-post. / Dagskassa can send mail.\n")
    try:
        with smtp_connection(smtp) as server:
            server.send_message(message)
    except MailNotConfigured:
        print("not sent: smtp.host is empty (set DAGSKASSA_SMTP_HOST)")
        return 1
    except (smtplib.SMTPException, OSError) as exc:
        print(f"not sent: {type(exc).__name__}: {exc} (check smtp.host, smtp.port, smtp.tls and the login)")
        return 1
    print(f"sent to {args.address} through {smtp.host}:{smtp.port} ({smtp.tls})")
    return 0
