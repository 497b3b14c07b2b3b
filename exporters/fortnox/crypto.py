"""Tokens encrypted at rest: Fernet (AES-128-CBC + HMAC-SHA256) with key rotation.

The keys come from ``settings.security.encryption_keys``, newest first. The newest encrypts; every key
decrypts, so a key is rotated by putting a new one first, re-encrypting every stored token with
:meth:`TokenCipher.rotate`, and then dropping the old key.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from config.settings import SecuritySettings, SettingsError

KEY_SETTING = "security.encryption_keys"
KEY_FIX = (
    "generate one with `python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'` and set DAGSKASSA_SECURITY_ENCRYPTION_KEYS (newest first, "
    "comma separated)"
)


class CannotDecrypt(Exception):
    """No configured key opens this ciphertext (the key that sealed it was removed, or it was altered)."""


class TokenCipher:
    """Encrypts and decrypts token text with the configured keys (newest first)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SettingsError(KEY_SETTING, "no encryption key is configured", KEY_FIX)
        fernets = []
        for index, key in enumerate(keys):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as exc:
                raise SettingsError(
                    KEY_SETTING,
                    f"key number {index + 1} is not a Fernet key (32 bytes, urlsafe base64)",
                    KEY_FIX,
                ) from exc
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, security: SecuritySettings) -> TokenCipher:
        return cls(security.encryption_keys)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise CannotDecrypt(
                f"no key in {KEY_SETTING} opens the stored token; was a key removed before rotating?"
            ) from exc

    def rotate(self, ciphertext: str) -> str:
        """The same plaintext sealed with the newest key (decryptable by any configured key)."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise CannotDecrypt(f"no key in {KEY_SETTING} opens the stored token") from exc
