"""Mail over TLS, against a real SMTP server on 127.0.0.1 with a certificate of its own (trusted through
smtp.ca_file): STARTTLS on the submission port with a login, and TLS from the first byte (``ssl``). The
server refuses a login before TLS, so a mail that arrives proves the order."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backoffice.notify.mail import smtp_connection
from config.settings import SmtpSettings

from .conftest import Mailbox, free_port

USER, PASSWORD = "dagskassa", "correct horse"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key) as PEM files."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    return AuthResult(success=(auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode()))


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(request, certificate) -> Iterator[tuple[str, int, Mailbox]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    box, port = Mailbox(), free_port()
    if request.param == "starttls":
        options = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    else:
        options = {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=_login, **options)
    controller.start()
    yield request.param, port, box
    controller.stop()


def test_mail_goes_over_tls_with_a_login(tls_server, certificate):
    mode, port, box = tls_server
    settings = SmtpSettings(
        host="127.0.0.1", port=port, tls=mode, username=USER, password=PASSWORD, ca_file=str(certificate[0])
    )
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "TLS", "dagskassa@dagskassa.test", "anna@byra.se"
    message.set_content("over TLS\n")
    with smtp_connection(settings) as server:
        server.send_message(message)
    assert [m["To"] for m in box.messages] == ["anna@byra.se"]


def test_a_certificate_nobody_vouches_for_is_refused(tls_server):
    mode, port, box = tls_server
    settings = SmtpSettings(host="127.0.0.1", port=port, tls=mode, username=USER, password=PASSWORD)
    with pytest.raises(ssl.SSLCertVerificationError), smtp_connection(settings):
        pass
    assert box.messages == []
