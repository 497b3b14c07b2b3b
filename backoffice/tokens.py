"""Secrets the BackOffice hands out and keeps only hashed: device tokens and one-time enrollment codes.

Both are random (``secrets``), so a plain SHA-256 is enough to store them: there is nothing to guess
that a slow hash would protect. Passwords, which people choose, use werkzeug's scrypt instead.
"""

from __future__ import annotations

import hashlib
import secrets

#: No 0/O, 1/I/L: a code is read aloud or typed from a screen.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_device_token() -> str:
    return "dkr_" + secrets.token_urlsafe(32)


def new_enrollment_code() -> str:
    """``ABCD-EFGH``: 40 bits, enough for a code that works once and expires within a day."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(code: str) -> str:
    """What a person typed, in the canonical form: upper case, the dash where it belongs."""
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else raw
