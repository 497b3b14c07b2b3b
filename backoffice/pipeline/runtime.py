"""Wiring an export attempt to a store's accounting connection: which provider, which tokens, which
rate limiter. The worker, the scheduler, the tests and the benchmarks all build their runtime here."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from backoffice.models import Store
from backoffice.pipeline.exporting import ExportRuntime
from backoffice.pipeline.fence import ExportFence
from backoffice.services.alerts import raise_alert
from backoffice.services.fortnox import DbTokenStore, Fortnox, connection_row
from backoffice.services.mapping import store_mapping
from exporters.core.errors import Reconnect
from exporters.providers import AccountingSession, get_provider

NOT_CONNECTED_FIX = "connect Fortnox on the store's Integration settings page"


def utc_now() -> datetime:
    return datetime.now(UTC)


def fortnox_runtime(
    fortnox: Fortnox,
    now: Callable[[], datetime] = utc_now,
    rng: random.Random | None = None,
    duplicate_guard: bool = True,
) -> ExportRuntime:
    """A runtime posting through Fortnox with the BackOffice's tokens, one HTTP client and one rate
    limiter per connection shared by every thread of this process."""
    http = fortnox.http()
    provider = get_provider("fortnox")
    #: Financial years read per company, shared by the sessions of this runtime.
    years: dict[str, list] = defaultdict(list)

    def open_session(db: Session, store: Store) -> AccountingSession:
        row = connection_row(db, store)
        if row.status != "connected" or not row.tokens_enc:
            raise Reconnect(f"Fortnox is {row.status.replace('_', ' ')} for {store.name}", NOT_CONNECTED_FIX)
        tokens = DbTokenStore(fortnox.sessions, row.id, fortnox.cipher, row.tenant_id)
        return provider.open_session(
            fortnox.settings,
            http,
            tokens,
            mapping=store_mapping(db, store),
            limiters=fortnox.limiters,
            now=now,
            years=years[tokens.connection_key],
        )

    def on_reconnect(db: Session, store: Store, reason: str) -> None:
        raise_alert(
            db,
            store.id,
            "reconnect_needed",
            f"Fortnox needs to be connected again: {reason}",
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
