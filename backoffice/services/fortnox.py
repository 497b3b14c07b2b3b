"""The BackOffice's side of the store's accounting system — Fortnox, or Visma eEkonomi since a store may
switch (:mod:`backoffice.services.switching`): the connection row and its encrypted tokens (a
:class:`DbTokenStore` implementing the client's ``TokenStore`` protocol), Connect/Disconnect through OAuth
(state + PKCE), the import of the chart of accounts, voucher series and cost centers for the pickers, and
preflight. Fortnox came first and names the module and the tables; each function takes the provider from
the connection row (or the Connect attempt) and asks :mod:`exporters.providers` for the rest.

Calls to Fortnox are never made inside a database transaction: a SQLite write lock held across the
network would stall every register's upload. So each operation is split: read what it needs, call
Fortnox (``fetch_*``), then save what came back (``save_*``) in a new transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from backoffice import audit
from backoffice.models import (
    FortnoxAccount,
    FortnoxConnection,
    FortnoxCostCenter,
    FortnoxVoucherSeries,
    OAuthAttempt,
    PreflightResult,
    Store,
    User,
    utcnow,
)
from backoffice.services.alerts import open_alerts_of, raise_alert, resolve_alerts
from backoffice.services.mapping import settings_of, store_mapping
from backoffice.services.switching import check_connect, name
from config.settings import Settings
from exporters.core import AccountMapping
from exporters.core.errors import Reconnect
from exporters.fortnox.client import FortnoxClient
from exporters.fortnox.crypto import TokenCipher
from exporters.fortnox.limiter import LimiterRegistry
from exporters.fortnox.oauth import AuthorizationRequest, FortnoxOAuth, scopes_needed
from exporters.fortnox.preflight import run_preflight
from exporters.fortnox.tokens import RECONNECT_FIX, TokenSet
from exporters.providers import (
    AccountingSession,
    ChartAccount,
    CheckResult,
    NamedCode,
    PreflightRequest,
    get_provider,
)

#: How long a started Connect may take before its state is refused.
ATTEMPT_LIFETIME = timedelta(minutes=15)
CALLBACK_PATH = "/fortnox/callback"
#: Where each accounting system sends the browser back after its consent page.
CALLBACK_PATHS = {"fortnox": CALLBACK_PATH, "visma": "/visma/callback"}


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


class DbTokenStore:
    """The ``TokenStore`` of one connection row. Each call runs in its own short transaction; ``refresh``
    holds the row lock (``SELECT … FOR UPDATE`` on PostgreSQL, the write transaction on SQLite) from
    re-reading the stored pair to saving the new one, so one worker at a time refreshes."""

    def __init__(
        self,
        sessions: sessionmaker,
        connection_id: int,
        cipher: TokenCipher,
        tenant_id: str | None = None,
        provider: str = "fortnox",
    ) -> None:
        self.sessions = sessions
        self.connection_id = connection_id
        self.cipher = cipher
        self.provider = provider
        # Fortnox counts its 25 requests per 5 s per app and company (Visma its 600 a minute per client
        # and endpoint): stores sharing a company share one limiter.
        self.connection_key = f"{provider}-tenant:{tenant_id}" if tenant_id else f"{provider}:{connection_id}"

    def _row(self, session: Session, lock: bool = False) -> FortnoxConnection:
        query = select(FortnoxConnection).where(FortnoxConnection.id == self.connection_id)
        return session.scalars(query.with_for_update() if lock else query).one()

    def _tokens(self, row: FortnoxConnection) -> TokenSet:
        system = name(self.provider)
        if row.provider != self.provider:
            raise Reconnect(
                f"{system} is not connected (the store books in {name(row.provider)})", RECONNECT_FIX
            )
        if row.status == "reconnect_needed":
            raise Reconnect(
                f"the {system} connection needs to be connected again ({row.last_error})", RECONNECT_FIX
            )
        if row.status != "connected" or not row.tokens_enc:
            raise Reconnect(f"{system} is not connected", RECONNECT_FIX)
        return TokenSet.from_json(self.cipher.decrypt(row.tokens_enc))

    def load(self) -> TokenSet:
        with self.sessions() as session:
            return self._tokens(self._row(session))

    def refresh(self, stale: TokenSet, do_refresh: Callable[[TokenSet], TokenSet]) -> TokenSet:
        with self.sessions() as session:
            row = self._row(session, lock=True)
            stored = self._tokens(row)
            if stored.refresh_token != stale.refresh_token:
                return stored
            try:
                fresh = do_refresh(stored)
            except Reconnect as exc:
                row.status, row.last_error = "reconnect_needed", exc.message
                session.commit()
                raise
            self._store(row, fresh)
            session.commit()
            return fresh

    def replace(self, tokens: TokenSet) -> None:
        """Keep a new connection's tokens: from now on the store books in this provider."""
        with self.sessions() as session:
            row = self._row(session, lock=True)
            row.provider = self.provider
            self._store(row, tokens)
            row.status, row.last_error, row.connected_at = "connected", None, utcnow()
            session.commit()

    def _store(self, row: FortnoxConnection, tokens: TokenSet) -> None:
        row.tokens_enc = self.cipher.encrypt(tokens.to_json())
        row.access_expires_at = _naive(tokens.expires_at)
        row.refresh_issued_at = _naive(tokens.issued_at)
        row.scopes = " ".join(sorted(tokens.scopes))


class Fortnox:
    """What the BackOffice needs to talk to the stores' accounting systems, built once per app: settings,
    the HTTP seam, the cipher and one rate limiter per connection shared by the process's threads (a
    registry per provider: Fortnox counts 25 per 5 s, Visma 600 a minute per endpoint)."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker, transport: httpx.BaseTransport | None
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.transport = transport
        self.limiters = LimiterRegistry(settings.fortnox.requests_per_window)
        self.provider_limiters = {"fortnox": self.limiters, "visma": visma_limiters(settings)}
        self._cipher: TokenCipher | None = None

    @property
    def cipher(self) -> TokenCipher:
        if self._cipher is None:
            self._cipher = TokenCipher.from_settings(self.settings.security)
        return self._cipher

    def http(self, provider: str = "fortnox", limits: httpx.Limits | None = None) -> httpx.Client:
        """An HTTP client for ``provider``'s API; ``limits`` caps its connection pool (httpx's default
        when None: 100 connections, 20 of them kept alive)."""
        timeout = getattr(self.settings, provider).timeout_seconds
        if limits is None:
            return httpx.Client(transport=self.transport, timeout=timeout)
        return httpx.Client(transport=self.transport, timeout=timeout, limits=limits)

    def oauth(self, http: httpx.Client) -> FortnoxOAuth:
        return FortnoxOAuth.from_settings(http, self.settings.fortnox)

    def oauth_for(self, provider: str, http: httpx.Client):
        """The provider's OAuth client (authorization URL, code exchange, revoke)."""
        return get_provider(provider).extras["make_oauth"](self.settings, http)

    @property
    def redirect_uri(self) -> str:
        return self.redirect_uri_for("fortnox")

    def redirect_uri_for(self, provider: str) -> str:
        return self.settings.web.public_url.rstrip("/") + CALLBACK_PATHS[provider]

    def token_store(self, row: FortnoxConnection) -> DbTokenStore:
        return DbTokenStore(self.sessions, row.id, self.cipher, row.tenant_id, row.provider)

    def open_session(self, http: httpx.Client, row: FortnoxConnection, **options) -> AccountingSession:
        """The store's session with the system its connection names, over ``http`` (from
        :meth:`http` for that provider), with this process's limiters for it."""
        provider = get_provider(row.provider)
        return provider.open_session(
            self.settings,
            http,
            self.token_store(row),
            limiters=self.provider_limiters[row.provider],
            **options,
        )

    def client(self, http: httpx.Client, connection_id: int) -> FortnoxClient:
        tokens = DbTokenStore(self.sessions, connection_id, self.cipher)
        limiter = self.limiters.for_connection(tokens.connection_key)
        return FortnoxClient.from_settings(http, tokens, self.oauth(http), limiter, self.settings.fortnox)


def connection_row(session: Session, store: Store) -> FortnoxConnection:
    row = session.scalars(
        select(FortnoxConnection).where(FortnoxConnection.store_id == store.id)
    ).one_or_none()
    if row is None:
        row = FortnoxConnection(store_id=store.id, status="disconnected", scopes="")
        session.add(row)
        session.flush()
    return row


def start_connect(
    session: Session,
    fortnox: Fortnox,
    store: Store,
    user: User,
    invoicing: bool,
    provider: str = "fortnox",
    start_date: date | None = None,
) -> str:
    """Begin Connect: keep the state, PKCE verifier, provider and start date, return the URL of the
    provider's consent page. Refused (:class:`~backoffice.services.switching.ConnectRefused`) while
    another system is connected, or for a switch without a start date after the old system's days."""
    start_date = check_connect(session, store, provider, start_date)
    spec = get_provider(provider)
    scopes = scopes_needed(invoicing) if provider == "fortnox" else spec.scopes
    with fortnox.http(provider) as http:
        request = fortnox.oauth_for(provider, http).authorization_url(
            fortnox.redirect_uri_for(provider), scopes
        )
    session.add(
        OAuthAttempt(
            state=request.state,
            store_id=store.id,
            user_id=user.id,
            code_verifier=request.code_verifier,
            provider=provider,
            start_date=start_date,
        )
    )
    audit.record(session, user, f"{provider}.connect_started", store, start_date=str(start_date or ""))
    return request.url


def take_attempt(session: Session, user: User, state: str) -> OAuthAttempt | None:
    """The user's own, fresh Connect attempt for ``state``; used once (deleted)."""
    attempt = session.get(OAuthAttempt, state) if state else None
    if attempt is None or attempt.user_id != user.id or attempt.created_at < utcnow() - ATTEMPT_LIFETIME:
        return None
    session.delete(attempt)
    return attempt


def finish_connect(
    fortnox: Fortnox, connection_id: int, attempt: OAuthAttempt, callback_url: str
) -> dict[str, str]:
    """Trade the code for tokens (state checked, PKCE verifier sent), store them encrypted (the store now
    books in the attempt's provider), and read the company. Raises ``AuthorizationDenied``/``Reconnect``
    with the fix when the accounting system says no."""
    provider = attempt.provider
    request = AuthorizationRequest(
        "", attempt.state, attempt.code_verifier, fortnox.redirect_uri_for(provider)
    )
    with fortnox.http(provider) as http:
        tokens = fortnox.oauth_for(provider, http).exchange_code(callback_url, request)
        DbTokenStore(fortnox.sessions, connection_id, fortnox.cipher, provider=provider).replace(tokens)
        if provider == "visma":
            with fortnox.sessions() as session:
                row = session.get(FortnoxConnection, connection_id)
            company = fortnox.open_session(http, row).client.company_settings()
            org_number = company.get("CorporateIdentityNumber") or ""
            # Visma names no company number: the org number, marked as Visma's, keys the tenant.
            return {
                "tenant_id": f"visma:{org_number}",
                "company_name": company.get("Name") or "",
                "org_number": org_number,
            }
        company = fortnox.client(http, connection_id).company_information()
    return {
        "tenant_id": str(company.get("DatabaseNumber") or ""),
        "company_name": company.get("CompanyName") or "",
        "org_number": company.get("OrganizationNumber") or "",
    }


def disconnect(session: Session, fortnox: Fortnox, store: Store, user: User) -> None:
    """Forget the tokens (revoking the refresh token at the accounting system when it still answers).
    The row keeps its provider: connecting another system after it is a switch, with a start date."""
    row = connection_row(session, store)
    if row.tokens_enc and row.status == "connected":
        tokens = TokenSet.from_json(fortnox.cipher.decrypt(row.tokens_enc))
        try:
            with fortnox.http(row.provider) as http:
                fortnox.oauth_for(row.provider, http).revoke(tokens)
        except Exception as exc:
            audit.record(session, user, f"{row.provider}.revoke_failed", store, error=str(exc))
    row.status, row.tokens_enc, row.scopes, row.last_error = "disconnected", None, "", None
    row.access_expires_at = row.refresh_issued_at = None
    audit.record(session, user, f"{row.provider}.disconnected", store)


@dataclass(frozen=True)
class FortnoxData:
    """What the pickers offer, as read from Fortnox for the financial year of ``on_date``."""

    accounts: list[ChartAccount]
    series: list[NamedCode]
    cost_centers: list[NamedCode]


def fetch_data(fortnox: Fortnox, connection_id: int, on_date: date) -> FortnoxData:
    with fortnox.sessions() as session:
        row = session.get(FortnoxConnection, connection_id)
    if row.provider != "fortnox":
        with fortnox.http(row.provider) as http:
            account = fortnox.open_session(http, row)
            return FortnoxData(account.accounts(), account.voucher_series(on_date), account.cost_centers())
    with fortnox.http() as http:
        client = fortnox.client(http, connection_id)
        year = client.financial_year(on_date)
        if year is None:
            return FortnoxData([], [], client.cost_centers())
        return FortnoxData(client.accounts(year.id), client.voucher_series(year.id), client.cost_centers())


def save_data(session: Session, store: Store, user: User | None, data: FortnoxData) -> None:
    """Replace the store's imported chart, series and cost centers."""
    for model in (FortnoxAccount, FortnoxVoucherSeries, FortnoxCostCenter):
        session.execute(delete(model).where(model.store_id == store.id))
    session.add_all(
        FortnoxAccount(
            store_id=store.id,
            number=a.number,
            description=a.description[:200],
            active=a.active,
            cost_center_rule=a.cost_center_rule,
            project_rule=a.project_rule,
        )
        for a in data.accounts
    )
    session.add_all(
        FortnoxVoucherSeries(store_id=store.id, code=s.code, description=s.description[:200], manual=s.manual)
        for s in data.series
    )
    session.add_all(
        FortnoxCostCenter(store_id=store.id, code=c.code, description=c.description[:200], active=c.active)
        for c in data.cost_centers
    )
    audit.record(
        session,
        user,
        f"{connection_row(session, store).provider}.imported",
        store,
        accounts=len(data.accounts),
        series=len(data.series),
        cost_centers=len(data.cost_centers),
    )


@dataclass(frozen=True)
class PreflightInput:
    """What a store's preflight checks against, read before any call to Fortnox."""

    store_id: int
    connection_id: int | None
    mapping: AccountMapping
    voucher_series: str | None
    cost_center: str | None
    invoicing: bool
    on_date: date
    provider: str = "fortnox"
    project: str | None = None
    attachments: bool = False


def fetch_preflight(fortnox: Fortnox, given: PreflightInput) -> list[CheckResult]:
    if given.connection_id is None:
        return [CheckResult("connection", False, f"{name(given.provider)} is not connected", RECONNECT_FIX)]
    if given.provider != "fortnox":
        with fortnox.sessions() as session:
            row = session.get(FortnoxConnection, given.connection_id)
        request = PreflightRequest(
            given.mapping,
            given.voucher_series,
            given.cost_center,
            given.project,
            given.on_date,
            given.invoicing,
            attachments=given.attachments,
        )
        with fortnox.http(given.provider) as http:
            return fortnox.open_session(http, row).preflight(request)
    with fortnox.http() as http:
        client = fortnox.client(http, given.connection_id)
        return run_preflight(
            client,
            given.mapping,
            given.voucher_series,
            given.cost_center,
            given.on_date,
            given.invoicing,
            attachments=given.attachments,
        )


def save_preflight(session: Session, store_id: int, results: list[CheckResult]) -> PreflightResult:
    ok = all(result.ok for result in results)
    row = session.get(PreflightResult, store_id) or PreflightResult(store_id=store_id, ok=ok)
    row.ok, row.checked_at, row.checks = ok, utcnow(), [result.to_dict() for result in results]
    session.add(row)
    failed = [result.name for result in results if not result.ok]
    message = f"preflight failed: {', '.join(failed)}" if failed else ""
    resolve_alerts(
        session,
        [
            alert
            for alert in open_alerts_of(session, store_id, "preflight_failed")
            if alert.message != message
        ],
    )
    if failed:
        raise_alert(
            session,
            store_id,
            "preflight_failed",
            message,
            "open the Preflight page: each failed check says what to fix in Fortnox or here",
        )
    return row


def preflight_input(session: Session, store: Store, on_date: date) -> PreflightInput:
    settings = settings_of(session, store, create=False)
    connection = session.scalars(
        select(FortnoxConnection).where(FortnoxConnection.store_id == store.id)
    ).one_or_none()
    return PreflightInput(
        store_id=store.id,
        connection_id=connection.id
        if connection is not None and connection.status != "disconnected"
        else None,
        mapping=store_mapping(session, store, settings),
        voucher_series=settings.voucher_series,
        cost_center=settings.cost_center,
        invoicing=settings.invoicing,
        on_date=on_date,
        provider=connection.provider if connection is not None else "fortnox",
        project=settings.project,
        attachments=settings.attach_z_report,
    )


def store_today(store: Store) -> date:
    """The store's local date (Fortnox checks are made for the day about to be posted)."""
    return datetime.now(ZoneInfo(store.timezone)).date()


def visma_limiters(settings: Settings) -> LimiterRegistry:
    return get_provider("visma").extras["make_limiters"](settings)
