"""Visma eEkonomi as an accounting provider plug-in (identifier ``"visma"``), behind the seam of
:mod:`exporters.providers`: the pipeline and the BackOffice post to it without knowing it is Visma.

Visma differs from Fortnox in ways this module hides: vouchers are numbered by Visma in its default
series ("A12"), cost centers are items addressed by id (the store names one by its short name), the
chart is kept per fiscal year, and the Z-report is attached as a voucher attachment (upload, then link).
Invoicing through Visma is not offered: its invoice rows need articles (FACTS.md section 4).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from config.settings import Settings, VismaSettings
from exporters.core.errors import FixData, NotFound
from exporters.core.mapping import ALLOWED, MANDATORY, NOTALLOWED, AccountMapping
from exporters.core.voucher import Voucher
from exporters.core.zreport import InvoiceSale
from exporters.limiter import LimiterRegistry
from exporters.providers import (
    ChartAccount,
    CheckResult,
    NamedCode,
    PostedInvoice,
    PostedVoucher,
    PreflightRequest,
    Provider,
    register,
)
from exporters.tokens import TokenStore, utc_now
from exporters.visma.client import VismaClient
from exporters.visma.oauth import SCOPES, VismaOAuth
from exporters.visma.preflight import run_preflight

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DEFAULT_SERIES = "A"
CENT = Decimal("0.01")
_UNSAFE_FILE_CHARS = re.compile(r"[^\w\-() .]")


def visma_file_name(filename: str) -> str:
    """Visma allows letters, digits and ``- _ ( )`` in attachment names; anything else becomes ``_``."""
    return _UNSAFE_FILE_CHARS.sub("_", filename)[:200]


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def posted_voucher(item: dict[str, Any]) -> PostedVoucher:
    """A Visma voucher (as POST or GET /v2/vouchers return it) in the provider-neutral shape."""
    ref = str(item.get("NumberAndNumberSeries") or "")
    series = str(item.get("NumberSeries") or "")
    number = ref[len(series) :] if series and ref.startswith(series) else ref
    return PostedVoucher(
        ref=ref,
        transaction_date=date.fromisoformat(str(item["VoucherDate"])[:10]),
        description=item.get("VoucherText") or "",
        series=series or None,
        number=int(number) if number.isdigit() else number or None,
        rows=tuple(
            (int(row["AccountNumber"]), _money(row.get("DebitAmount")), _money(row.get("CreditAmount")))
            for row in item.get("Rows") or []
        ),
    )


@dataclass(frozen=True)
class _Linked:
    """An attachment already linked to the voucher."""

    id: str


class VismaSession:
    """One store's Visma connection as an :class:`~exporters.providers.AccountingSession`."""

    def __init__(self, client: VismaClient, now: Callable[[], datetime] = utc_now) -> None:
        self.client = client
        self._now = now
        #: Visma's voucher id per reference ("A12"), so attaching needs no search.
        self._voucher_ids: dict[str, str] = {}

    def post_voucher(self, voucher: Voucher) -> PostedVoucher:
        items = {}
        if any(row.cost_center for row in voucher.rows):
            items = {item.short_name: item for item in self.client.cost_center_items()}
            items.update({item.id: item for item in items.values()})
        return self._remember(self.client.create_voucher(voucher, items))

    def find_voucher(self, marker: str, on: date, series: str | None = None) -> PostedVoucher | None:
        found = self.client.find_voucher(marker, on)
        return self._remember(found) if found else None

    def vouchers_on(self, on: date) -> list[PostedVoucher]:
        return [self._remember(item) for item in self.client.vouchers(on, on)]

    def post_invoice(
        self, sale: InvoiceSale, marker: str, *, as_order: bool, allow_tip: bool, on: date | None = None
    ) -> PostedInvoice:
        raise FixData(
            f"receipt {sale.receipt_number} was paid on invoice, and Dagskassa cannot invoice through Visma",
            "turn off 'Invoice' in the sync options for this store (the sale is then booked on the voucher "
            "against accounts receivable) and invoice the customer in Visma",
        )

    def find_invoice(self, marker: str, on: date) -> PostedInvoice | None:
        return None

    def attach_file(
        self,
        posted: PostedVoucher,
        filename: str,
        content: bytes,
        *,
        upload_ref: str | None = None,
        on_upload: Callable[[str], None] | None = None,
        first_try: bool = False,
    ) -> str:
        """Upload ``content`` and link it to the voucher, once: an attachment of that name already on the
        voucher is left alone, and one uploaded earlier but never linked (an answer lost) is reused
        (``upload_ref``, else found by name); on the caller's ``first_try`` neither is looked for. Returns
        the attachment's id."""
        name = visma_file_name(filename)
        voucher_id = self._voucher_id(posted)
        attachment_id = None if first_try else self._earlier_upload(posted, voucher_id, name, upload_ref)
        if isinstance(attachment_id, _Linked):
            return attachment_id.id
        if attachment_id is not None and on_upload is not None:
            on_upload(attachment_id)  # an earlier upload, recorded before it is linked like a new one
        if attachment_id is None:
            attachment_id = self.client.upload_attachment(name, content)
            if on_upload is not None:
                on_upload(attachment_id)
        self.client.link_attachments(voucher_id, [attachment_id])
        return attachment_id

    def _earlier_upload(
        self, posted: PostedVoucher, voucher_id: str, name: str, upload_ref: str | None
    ) -> _Linked | str | None:
        """The attachment of that name already on the voucher (:class:`_Linked`), else one uploaded and
        never linked (preferring ``upload_ref``), else None."""
        year = self.client.fiscal_year(posted.transaction_date)
        if year is None:
            raise NotFound(f"no Visma fiscal year covers {posted.transaction_date} (voucher {posted.ref})")
        voucher = self.client.voucher(year.id, voucher_id)
        for attachment_id in (voucher.get("Attachments") or {}).get("AttachmentIds") or []:
            if self.client.attachment(attachment_id).get("FileName") == name:
                return _Linked(str(attachment_id))
        unlinked = {str(a["Id"]) for a in self.client.unmatched_attachments() if a.get("FileName") == name}
        return upload_ref if upload_ref in unlinked else next(iter(sorted(unlinked)), None)

    def accounts(self) -> list[ChartAccount]:
        """The chart of the fiscal year of today in Sweden (else the latest year)."""
        years = sorted(self.client.fiscal_years(), key=lambda y: y.start)
        if not years:
            return []
        today = self._now().astimezone(STOCKHOLM).date()
        year = next((y for y in years if y.covers(today)), years[-1])
        return [
            ChartAccount(
                account.number,
                account.name,
                account.active and not account.blocked_for_manual_booking,
                MANDATORY
                if account.first_cost_center_mandatory
                else ALLOWED
                if account.cost_center_allowed
                else NOTALLOWED,
            )
            for account in self.client.accounts(year.id)
        ]

    def voucher_series(self, on: date) -> list[NamedCode]:
        # Visma numbers API vouchers in its default series; it has no endpoint listing series.
        return [NamedCode(DEFAULT_SERIES, "Visma's default voucher series", True, True)]

    def cost_centers(self) -> list[NamedCode]:
        return [
            NamedCode(item.short_name, item.name, item.active) for item in self.client.cost_center_items()
        ]

    def preflight(self, request: PreflightRequest) -> list[CheckResult]:
        return run_preflight(self.client, request)

    def _remember(self, item: dict[str, Any]) -> PostedVoucher:
        posted = posted_voucher(item)
        self._voucher_ids[posted.ref] = str(item["Id"])
        return posted

    def _voucher_id(self, posted: PostedVoucher) -> str:
        if posted.ref not in self._voucher_ids:
            self.vouchers_on(posted.transaction_date)
        try:
            return self._voucher_ids[posted.ref]
        except KeyError:
            raise NotFound(f"voucher {posted.ref} of {posted.transaction_date} is not in Visma") from None


def _visma_settings(settings: Settings | VismaSettings) -> VismaSettings:
    return settings if isinstance(settings, VismaSettings) else settings.visma


def make_oauth(settings: Settings | VismaSettings, http: httpx.Client) -> VismaOAuth:
    """The OAuth client for connecting a store (authorization URL, code exchange, revoke)."""
    return VismaOAuth.from_settings(http, _visma_settings(settings))


def make_limiters(settings: Settings | VismaSettings) -> LimiterRegistry:
    """Limiters per connection and endpoint: ``visma.requests_per_minute`` in any 60 seconds."""
    return LimiterRegistry(_visma_settings(settings).requests_per_minute, 60.0)


def open_session(
    settings: Settings | VismaSettings,
    http: httpx.Client,
    tokens: TokenStore,
    *,
    mapping: AccountMapping | None = None,
    limiters: LimiterRegistry | None = None,
    now: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> VismaSession:
    """A session over ``http`` for the connection whose tokens ``tokens`` keeps. Share ``limiters``
    (from :func:`make_limiters`, not Fortnox's) between the sessions of a process, so Visma's minute per
    endpoint is counted once. ``mapping`` is taken for the seam's sake: without invoicing Visma needs none."""
    visma = _visma_settings(settings)
    limiters = limiters or make_limiters(visma)
    oauth = VismaOAuth(http, visma.client_id, visma.client_secret, visma.identity_url, now)
    return VismaSession(VismaClient(http, tokens, oauth, limiters, visma.api_url, now, sleep), now)


PROVIDER = register(
    Provider(
        identifier="visma",
        verbose_name="Visma eEkonomi (Bokföring & Fakturering)",
        scopes=SCOPES,
        invoicing_scopes=(),
        open_session=open_session,
        extras={"make_oauth": make_oauth, "make_limiters": make_limiters, "invoicing": False},
    )
)
