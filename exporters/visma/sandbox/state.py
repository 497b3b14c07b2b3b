"""Everything the Visma sandbox remembers: companies and their books, the OAuth client, users, tokens,
the clock and the knobs. One re-entrant lock guards it all; the app holds it for the whole of a request,
so a threaded server sees one request's changes at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from exporters import sandbox_kit
from exporters.sandbox_kit import FAULT_KINDS as FAULT_KINDS
from exporters.sandbox_kit import STOCKHOLM as STOCKHOLM
from exporters.sandbox_kit import Clock as Clock

AUTH_CODE_LIFETIME = timedelta(minutes=5)
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)  # FACTS.md section 1: expires_in 3600
#: Visma's KB (2019) says 50 years, a later third party 2 years; the shorter is the safer default.
REFRESH_TOKEN_LIFETIME = timedelta(days=730)

#: Every scope Visma's identity server knows for eAccounting (FACTS.md section 1).
KNOWN_SCOPES = frozenset(
    [
        "ea:api",
        "offline_access",
        "ea:sales",
        "ea:sales_readonly",
        "ea:accounting",
        "ea:accounting_readonly",
        "ea:purchase",
        "ea:purchase_readonly",
        "vls:api",
        "openid",
    ]
)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Fault(sandbox_kit.Fault):
    """An injected failure (see :class:`exporters.sandbox_kit.Fault`) on Visma's API paths; ``5xx``
    answers 500 with Visma's 5000 body unless told otherwise."""

    path: str = "/v2/"
    status: int = 500


@dataclass
class Knobs(sandbox_kit.Knobs):
    """What tests, benchmarks and demos turn (see :class:`exporters.sandbox_kit.Knobs`), with Visma's
    rate limit: 600 requests per minute per client and endpoint (FACTS.md section 2)."""

    fault_type: ClassVar[type[sandbox_kit.Fault]] = Fault

    rate_limit: int = 600
    rate_window_s: float = 60.0


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    #: Exact redirect URIs; loopback URIs (any port and path) are accepted when ``allow_loopback``.
    redirect_uris: tuple[str, ...] = ()
    allow_loopback: bool = True


@dataclass
class User:
    email: str
    password: str
    name: str
    companies: tuple[str, ...]


@dataclass
class Account:
    number: int
    name: str
    fiscal_year_id: str
    vat_code: str = ""
    is_active: bool = True
    is_cost_center_allowed: bool = True
    is_first_cost_center_mandatory: bool = False
    is_blocked_for_manual_booking: bool = False


@dataclass
class FiscalYear:
    id: str
    start: date
    end: date
    is_locked_for_accounting: bool = False
    bookkeeping_method: int = 0  # 0 Invoicing, 1 Cash

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass
class CostCenterItem:
    id: str
    cost_center_id: str
    name: str
    short_name: str
    is_active: bool = True


@dataclass
class CostCenter:
    id: str
    name: str
    number: int
    is_active: bool = True
    items: list[CostCenterItem] = field(default_factory=list)


@dataclass
class VoucherRow:
    account: int
    debit: Decimal
    credit: Decimal
    text: str = ""
    cost_center_items: tuple[str | None, str | None, str | None] = (None, None, None)


@dataclass
class Voucher:
    id: str
    fiscal_year_id: str
    series: str
    number: int
    voucher_date: date
    text: str
    rows: list[VoucherRow]
    created: datetime
    voucher_type: int = 2  # ManualVoucher; UNCONFIRMED for API-created vouchers
    attachment_ids: list[str] = field(default_factory=list)


@dataclass
class Attachment:
    id: str
    file_name: str
    content_type: str
    data: bytes
    uploaded: datetime
    comment: str = ""
    document_id: str | None = None
    document_type: int = 0


@dataclass
class Company:
    """One Visma eEkonomi company: its settings, its books and its attachments."""

    key: str
    name: str
    org_number: str
    #: "Apps and extensions" > API: without it every call says "No access to module: api_standard".
    api_module_active: bool = True
    accounting_locked_to: date | None = None
    fiscal_years: dict[str, FiscalYear] = field(default_factory=dict)
    #: (fiscal year id, account number) -> account: Visma keeps a chart per fiscal year.
    accounts: dict[tuple[str, int], Account] = field(default_factory=dict)
    cost_centers: dict[str, CostCenter] = field(default_factory=dict)
    vouchers: dict[str, Voucher] = field(default_factory=dict)
    #: (fiscal year id, series) -> last number used.
    series_numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    attachments: dict[str, Attachment] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def year_for(self, day: date) -> FiscalYear | None:
        return next((y for y in self.fiscal_years.values() if y.covers(day)), None)

    def cost_center_item(self, item_id: str) -> CostCenterItem | None:
        for center in self.cost_centers.values():
            for item in center.items:
                if item.id == item_id:
                    return item
        return None

    def next_number(self, fiscal_year_id: str, series: str) -> int:
        key = (fiscal_year_id, series)
        self.series_numbers[key] = self.series_numbers.get(key, 0) + 1
        return self.series_numbers[key]


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    company: str
    user: str
    issued_at: datetime
    code_challenge: str | None = None
    code_challenge_method: str = "plain"
    used: bool = False
    refresh_tokens: list[str] = field(default_factory=list)


@dataclass
class Grant:
    """What a token stands for: a client's access to one company, as one user, with scopes."""

    client_id: str
    company: str
    user: str
    scopes: tuple[str, ...]
    expires_at: datetime
    used: bool = False
    revoked: bool = False


class SandboxState(sandbox_kit.SandboxBase):
    """The whole sandbox. Build one with :func:`exporters.visma.sandbox.seed.seeded_state` or empty and
    add to it; pass it to ``create_app``."""

    knobs_type = Knobs
    knobs: Knobs

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.companies: dict[str, Company] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.users: dict[str, User] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}

    def take_rate_slot(self, client_id: str, endpoint: str) -> float | None:
        """Count a request of ``client_id`` to ``endpoint`` in the sliding minute. None when it fits,
        else the seconds until a slot frees (only accepted requests count, as Visma's text implies)."""
        return self._rate_wait((client_id, endpoint))

    def ledger(self) -> list[dict[str, Any]]:
        """Every company's vouchers with rows and attachments, for the ledger page and tests."""
        out = []
        for company in self.companies.values():
            vouchers = sorted(company.vouchers.values(), key=lambda v: (v.voucher_date, v.series, v.number))
            out.append(
                {
                    "company": company.key,
                    "name": company.name,
                    "org_number": company.org_number,
                    "vouchers": [_voucher_entry(company, voucher) for voucher in vouchers],
                }
            )
        return out


def _voucher_entry(company: Company, voucher: Voucher) -> dict[str, Any]:
    return {
        "id": voucher.id,
        "number": f"{voucher.series}{voucher.number}",
        "date": voucher.voucher_date.isoformat(),
        "text": voucher.text,
        "rows": [
            {
                "account": row.account,
                "debit": f"{row.debit:.2f}",
                "credit": f"{row.credit:.2f}",
                "text": row.text,
                "cost_center_items": [item for item in row.cost_center_items if item],
            }
            for row in voucher.rows
        ],
        "attachments": [
            {
                "id": attachment_id,
                "file_name": company.attachments[attachment_id].file_name,
                "content_type": company.attachments[attachment_id].content_type,
                "size": len(company.attachments[attachment_id].data),
                "url": f"/_sandbox/attachments/{attachment_id}",
            }
            for attachment_id in voucher.attachment_ids
        ],
    }
