"""Tokens at rest: Fernet with rotation, and a clear error when no key is configured."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from config.settings import SecuritySettings, SettingsError
from exporters.fortnox.crypto import CannotDecrypt, TokenCipher


def test_round_trip_and_ciphertext_hides_the_token() -> None:
    cipher = TokenCipher([Fernet.generate_key().decode()])
    sealed = cipher.encrypt("refresh-token-secret")
    assert "refresh-token-secret" not in sealed
    assert cipher.decrypt(sealed) == "refresh-token-secret"


def test_old_key_still_decrypts_and_rotate_moves_to_the_newest_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_with_old = TokenCipher([old]).encrypt("tokens")
    both = TokenCipher([new, old])
    assert both.decrypt(sealed_with_old) == "tokens"
    rotated = both.rotate(sealed_with_old)
    assert TokenCipher([new]).decrypt(rotated) == "tokens"
    with pytest.raises(CannotDecrypt):
        TokenCipher([old]).decrypt(rotated)


def test_no_key_names_the_setting() -> None:
    with pytest.raises(SettingsError) as caught:
        TokenCipher.from_settings(SecuritySettings())
    assert caught.value.setting == "security.encryption_keys"
    assert "DAGSKASSA_SECURITY_ENCRYPTION_KEYS" in str(caught.value)


def test_a_malformed_key_names_the_setting_and_which_key() -> None:
    with pytest.raises(SettingsError, match=r"key number 2"):
        TokenCipher([Fernet.generate_key().decode(), "not-a-key"])


def test_tampered_or_foreign_ciphertext_is_refused() -> None:
    cipher = TokenCipher([Fernet.generate_key().decode()])
    sealed = cipher.encrypt("tokens")
    with pytest.raises(CannotDecrypt):
        cipher.decrypt(sealed[:-4] + "AAAA")
    with pytest.raises(CannotDecrypt):
        cipher.decrypt(TokenCipher([Fernet.generate_key().decode()]).encrypt("tokens"))
