"""The signed webhook: each event POSTed as JSON to the agency's URL.

Headers: ``X-Dagskassa-Timestamp`` (Unix seconds) and ``X-Dagskassa-Signature: sha256=<hex>``, the
HMAC-SHA256 with the agency's secret over ``"<timestamp>.<body>"``; ``X-Dagskassa-Event`` is the event's
id (the same on every retry: a receiver that stores it ignores a second delivery).

A receiver checks with :func:`verify`, which uses only the standard library so it can be copied as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from typing import Any
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Dagskassa-Signature"
TIMESTAMP_HEADER = "X-Dagskassa-Timestamp"
EVENT_HEADER = "X-Dagskassa-Event"
#: A delivery older (or newer) than this is refused by :func:`verify`: a replay of a captured request.
TOLERANCE_SECONDS = 300


def private_address(url: str, resolve: bool = True) -> str | None:
    """The first address ``url``'s host stands for that is not public (loopback, a private network,
    link-local such as a cloud's metadata service at 169.254.169.254, multicast or reserved), or None.

    An IP literal is judged as written; a name is looked up (``resolve``), and a name that does not
    resolve is None here: the delivery fails then, as it would anyway. The send checks again right
    before it connects (a name may be pointed elsewhere after it was saved)."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if not resolve:
            return None
        try:
            found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None
        addresses = [ipaddress.ip_address(entry[4][0].split("%")[0]) for entry in found]
    for address in addresses:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return str(address)
    return None


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True if ``body`` was signed with ``secret`` at ``timestamp`` and that is within ``tolerance``
    seconds of ``now``. Give it the raw body bytes, before any JSON parsing."""
    if not timestamp.isdigit():
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = (
        "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, signature)


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def headers(secret: str, event_id: int, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        "User-Agent": "Dagskassa-Webhook/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        EVENT_HEADER: str(event_id),
    }
