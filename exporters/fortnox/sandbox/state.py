"""Everything the sandbox remembers: tenants and their books, OAuth clients, users, tokens, the clock and
the knobs. One lock guards it all; the app holds it for the whole of a request, so a threaded server sees
one request's changes at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from exporters import sandbox_kit
from exporters.fortnox.sandbox.books import Tenant
from exporters.fortnox.sandbox.scopes import KNOWN_SCOPES
from exporters.sandbox_kit import FAULT_KINDS as FAULT_KINDS
from exporters.sandbox_kit import STOCKHOLM as STOCKHOLM
from exporters.sandbox_kit import Clock as Clock

AUTH_CODE_LIFETIME = timedelta(minutes=10)
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
REFRESH_TOKEN_LIFETIME = timedelta(days=45)


@dataclass
class Fault(sandbox_kit.Fault):
    """An injected failure (see :class:`exporters.sandbox_kit.Fault`) on Fortnox's API paths; ``5xx``
    answers 503 unless told otherwise."""

    path: str = "/3/"
    status: int = 503


@dataclass
class Knobs(sandbox_kit.Knobs):
    """What tests, benchmarks and demos turn (see :class:`exporters.sandbox_kit.Knobs`), with Fortnox's
    rate limit: 25 requests per 5 seconds per client and tenant."""

    fault_type: ClassVar[type[sandbox_kit.Fault]] = Fault

    rate_limit: int = 25
    rate_window_s: float = 5.0


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    #: Exact redirect URIs; loopback URIs (http://127.0.0.1 or http://localhost, any port and path) are
    #: accepted too when ``allow_loopback`` is set.
    redirect_uris: tuple[str, ...] = ()
    allow_loopback: bool = True
    scopes: frozenset[str] = KNOWN_SCOPES
    service_accounts: bool = True


@dataclass
class User:
    email: str
    password: str
    name: str
    tenants: tuple[int, ...]
    sys_admin: bool = True
    id: str = ""


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str | None
    scopes: tuple[str, ...]
    tenant: int
    user: str
    issued_at: datetime
    code_challenge: str | None = None
    code_challenge_method: str = "plain"
    access_type: str = ""
    service: bool = False
    used: bool = False
    refresh_tokens: list[str] = field(default_factory=list)


@dataclass
class Grant:
    """What a token stands for: a client's access to one tenant, as one user, with scopes."""

    client_id: str
    tenant: int
    user: str
    scopes: tuple[str, ...]
    expires_at: datetime
    used: bool = False
    revoked: bool = False


class SandboxState(sandbox_kit.SandboxBase):
    """The whole sandbox. Build one with :func:`exporters.fortnox.sandbox.seed.seeded_state` (the
    documented seeds) or empty and add to it; pass it to ``create_app``."""

    knobs_type = Knobs
    knobs: Knobs

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.tenants: dict[int, Tenant] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.users: dict[str, User] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        #: (client_id, tenant) -> scopes a system administrator consented to for a service account.
        self.service_consents: dict[tuple[str, int], tuple[str, ...]] = {}

    def take_rate_slot(self, client_id: str, tenant: int) -> bool:
        """Record a request for (client, tenant) and say whether it fits Fortnox's sliding window.
        Only accepted requests count, so a client that waits sees the window empty as it should."""
        return self._rate_wait((client_id, tenant)) is None

    # -- lookups ---------------------------------------------------------------------------------------

    def tenant(self, database_number: int) -> Tenant:
        return self.tenants[database_number]

    def ledger(self, database_number: int | None = None) -> list[dict[str, Any]]:
        """Every tenant's (or one tenant's) vouchers with rows, for the ledger page and tests that count."""
        out = []
        for tenant in self.tenants.values():
            if database_number is not None and tenant.database_number != database_number:
                continue
            vouchers = []
            files_of: dict[tuple[int, str, int], list[dict[str, Any]]] = {}
            for connection in tenant.file_connections.values():
                found = tenant.files[connection.file_id]
                files_of.setdefault((connection.year, connection.series, connection.number), []).append(
                    {
                        "id": found.id,
                        "name": found.name,
                        "size": len(found.data),
                        "url": f"/_sandbox/files/{found.id}",
                    }
                )
            for (year, series, number), voucher in sorted(tenant.vouchers.items()):
                vouchers.append(
                    {
                        "year": year,
                        "series": series,
                        "number": number,
                        "transaction_date": voucher.transaction_date.isoformat(),
                        "description": voucher.description,
                        "comments": voucher.comments,
                        "reference_type": voucher.reference_type,
                        "reference_number": voucher.reference_number,
                        "files": files_of.get((year, series, number), []),
                        "rows": [
                            {
                                "account": row.account,
                                "account_name": tenant.accounts[row.account].description,
                                "debit": f"{row.debit:.2f}",
                                "credit": f"{row.credit:.2f}",
                                "cost_center": row.cost_center,
                                "project": row.project,
                                "transaction_information": row.transaction_information,
                            }
                            for row in voucher.rows
                        ],
                    }
                )
            out.append(
                {
                    "database_number": tenant.database_number,
                    "company_name": tenant.company["CompanyName"],
                    "vouchers": vouchers,
                }
            )
        return out
