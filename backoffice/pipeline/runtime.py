"""Wiring an export attempt to a store's accounting connection: which provider (the one the connection
names, ``fortnox`` or ``visma``), which tokens, which rate limiter. The worker, the scheduler, the tests and
the benchmarks all build their runtime here."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from sqlalchemy.orm import Session

from backoffice.models import Export, Store
from backoffice.pipeline.exporting import ExportRuntime
from backoffice.pipeline.fence import ExportFence
from backoffice.services.alerts import raise_alert
from backoffice.services.fortnox import DbTokenStore, Fortnox, connection_row
from backoffice.services.mapping import settings_of, store_mapping
from backoffice.services.switching import name
from exporters.core.errors import FixData, Reconnect
from exporters.providers import AccountingSession, get_provider
from exporters.tokens import TokenSet

NOT_CONNECTED_FIX = "connect the accounting system on the store's Integration settings page"


def utc_now() -> datetime:
    return datetime.now(UTC)


class OnceLoaded:
    """An attempt's view of its connection's token store: the tokens are the pair the attempt read with
    the connection row, in its own transaction (no transaction of their own, decrypted once), instead of
    a read before every request. Refreshing still goes to the store, which re-reads the stored pair under
    the row lock; a token another process refreshed meanwhile is answered 401 and refreshed the same
    way, so nothing is raced."""

    def __init__(self, store: DbTokenStore, tokens: TokenSet | None = None) -> None:
        self.store = store
        self._tokens = tokens

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def load(self) -> TokenSet:
        if self._tokens is None:
            self._tokens = self.store.load()
        return self._tokens

    def refresh(self, stale: TokenSet, do_refresh: Callable[[TokenSet], TokenSet]) -> TokenSet:
        self._tokens = self.store.refresh(stale, do_refresh)
        return self._tokens

    def replace(self, tokens: TokenSet) -> None:
        self.store.replace(tokens)
        self._tokens = tokens


def accounting_runtime(
    fortnox: Fortnox,
    now: Callable[[], datetime] = utc_now,
    rng: random.Random | None = None,
    duplicate_guard: bool = True,
) -> ExportRuntime:
    """A runtime posting each export through the accounting system of its store's connection, with the
    BackOffice's tokens, one HTTP client per provider and one rate limiter per connection shared by every
    thread of this process. An export belongs to the system of its channel: a day the store booked in
    its previous system is refused, never sent to the new one."""
    # Every worker thread of the process shares the client and has at most one request under way, so the
    # threads cap the pool: httpx's default keeps only 20 connections alive, and a worker with more
    # threads would open a new connection for most requests (and queue at 100).
    uncapped = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    http = {provider: fortnox.http(provider, uncapped) for provider in fortnox.provider_limiters}
    #: Fortnox financial years read per company, shared by the sessions of this runtime.
    years: dict[str, list] = defaultdict(list)

    def open_session(db: Session, export: Export) -> AccountingSession:
        store = export.store
        row = connection_row(db, store)
        system = name(row.provider)
        if export.channel != row.provider:
            raise FixData(
                f"the day {export.business_date.isoformat()} belongs to {name(export.channel)}, and the "
                f"store books in {system} now",
                f"book it in {name(export.channel)} (connect it again), or mark the day as booked here; "
                f"it is never sent to {system}",
            )
        if row.status != "connected" or not row.tokens_enc:
            raise Reconnect(f"{system} is {row.status.replace('_', ' ')} for {store.name}", NOT_CONNECTED_FIX)
        tokens = OnceLoaded(
            fortnox.token_store(row), TokenSet.from_json(fortnox.cipher.decrypt(row.tokens_enc))
        )
        # The mapping is for invoices' rows only: read when the store invoices through the system.
        invoicing = settings_of(db, store, create=False).invoicing
        options = {"mapping": store_mapping(db, store) if invoicing else None, "now": now}
        if row.provider == "fortnox":
            options["years"] = years[tokens.connection_key]
        return get_provider(row.provider).open_session(
            fortnox.settings,
            http[row.provider],
            tokens,
            limiters=fortnox.provider_limiters[row.provider],
            **options,
        )

    def on_reconnect(db: Session, store: Store, reason: str) -> None:
        raise_alert(
            db,
            store.id,
            "reconnect_needed",
            f"{name(connection_row(db, store).provider)} needs to be connected again: {reason}",
            NOT_CONNECTED_FIX,
        )

    return ExportRuntime(
        open_session=open_session,
        now=now,
        rng=rng or random.Random(),
        duplicate_guard=duplicate_guard,
        on_reconnect=on_reconnect,
        fence=ExportFence(fortnox.sessions.kw["bind"]),
    )


#: The name the pipeline's callers knew before a store could book in Visma.
fortnox_runtime = accounting_runtime
