"""Token pairs at rest and the in-memory store's contract (the DB store follows the same one)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from exporters.core.errors import Reconnect
from exporters.fortnox.crypto import TokenCipher
from exporters.fortnox.tokens import InMemoryTokenStore, TokenSet, TokenStore

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def pair(n: int) -> TokenSet:
    return TokenSet(f"access-{n}", f"refresh-{n}", T0 + timedelta(hours=1), T0, frozenset({"bookkeeping"}))


def test_a_pair_survives_encryption_at_rest() -> None:
    cipher = TokenCipher([Fernet.generate_key().decode()])
    sealed = cipher.encrypt(pair(1).to_json())
    assert "refresh-1" not in sealed
    assert TokenSet.from_json(cipher.decrypt(sealed)) == pair(1)


def test_expiry_margin_and_refresh_token_age() -> None:
    tokens = pair(1)
    assert not tokens.access_expired(T0 + timedelta(minutes=58))
    assert tokens.access_expired(T0 + timedelta(minutes=59, seconds=30))
    assert tokens.refresh_expires_at == T0 + timedelta(days=45)


def test_in_memory_store_is_a_token_store() -> None:
    assert isinstance(InMemoryTokenStore("c1", pair(1)), TokenStore)


def test_concurrent_refreshes_of_the_same_stale_pair_run_once() -> None:
    store = InMemoryTokenStore("c1", pair(1))
    stale = store.load()
    started = threading.Barrier(8)
    results: list[TokenSet] = []

    def worker() -> None:
        started.wait()
        results.append(store.refresh(stale, lambda current: pair(int(current.refresh_token[-1]) + 1)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.refresh_count == 1
    assert {tokens.refresh_token for tokens in results} == {"refresh-2"}
    assert store.load() == pair(2)


def test_a_dead_refresh_token_marks_the_connection_and_load_then_says_reconnect() -> None:
    store = InMemoryTokenStore("c1", pair(1))

    def dead(current: TokenSet) -> TokenSet:
        raise Reconnect("Invalid refresh token")

    with pytest.raises(Reconnect):
        store.refresh(store.load(), dead)
    with pytest.raises(Reconnect, match="needs to be connected again"):
        store.load()
    store.replace(pair(5))
    assert store.load() == pair(5)


def test_an_empty_store_asks_for_a_connection() -> None:
    with pytest.raises(Reconnect, match="not connected"):
        InMemoryTokenStore("c1").load()
