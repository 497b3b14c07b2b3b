"""Fortnox as an accounting provider plug-in (identifier ``"fortnox"``), behind the seam of
:mod:`exporters.providers`: the pipeline and the BackOffice post to it without knowing it is Fortnox.

What this module hides: every voucher call names its financial year (found by date, Fortnox's series and
accounts are per year), sales on invoice need a customer matched or created first, and documents are
found again by the marker in ExternalInvoiceReference1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx

from config.settings import FortnoxSettings, Settings
from exporters.core.errors import FixData, NotFound, Reconnect
from exporters.core.mapping import AccountMapping
from exporters.core.voucher import Voucher, carries_marker
from exporters.core.zreport import InvoiceSale
from exporters.fortnox.client import FinancialYear, FortnoxClient, posted_voucher
from exporters.fortnox.limiter import LimiterRegistry
from exporters.fortnox.oauth import INVOICING_SCOPES, FortnoxOAuth, scopes_needed
from exporters.fortnox.preflight import run_preflight
from exporters.fortnox.tokens import TokenStore, utc_now
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

STOCKHOLM = ZoneInfo("Europe/Stockholm")
#: ExternalInvoiceReference1 holds at most 80 characters; the marker is never cut.
REFERENCE_MAX = 80
ATTACHMENT_FIX = (
    "Dagskassa may not put files in this Fortnox company: connect Fortnox again on the Integration "
    "settings page and approve the permissions Inkorg (inbox) and Koppla filer (connectfile); the company "
    "may also need the Fortnox licence for them"
)


def invoice_reference(receipt_number: str, marker: str) -> str:
    """``Kvitto 881 [dk:…]``: what the customer and the bookkeeper see, and what finds it again."""
    tail = f" [{marker}]"
    return f"Kvitto {receipt_number}"[: REFERENCE_MAX - len(tail)] + tail


class FortnoxSession:
    """One store's Fortnox connection as an :class:`~exporters.providers.AccountingSession`.

    ``mapping`` (the store's account mapping) is needed only for invoices and orders: their rows are
    booked on the mapped revenue and tips accounts with the store's cost center and project.

    ``years`` is a list of financial years already read for this connection, shared by its sessions:
    every voucher call names its year, and looking it up each time would double the calls a day costs
    against Fortnox's 25 per 5 seconds. A date no year in it covers is looked up (and added)."""

    def __init__(
        self,
        client: FortnoxClient,
        mapping: AccountMapping | None = None,
        now: Callable[[], datetime] = utc_now,
        years: list[FinancialYear] | None = None,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self._now = now
        self._years = years if years is not None else []

    def post_voucher(self, voucher: Voucher) -> PostedVoucher:
        return self.client.create_voucher(voucher, self._year(voucher.transaction_date).id)

    def find_voucher(self, marker: str, on: date, series: str | None = None) -> PostedVoucher | None:
        return self.client.find_posted_voucher(marker, on, self._year(on).id, series)

    def vouchers_on(self, on: date) -> list[PostedVoucher]:
        """Every voucher of that date, with its rows where they can matter: the list has no rows, so each
        costs a request, and vouchers Dagskassa posted (they carry a marker) are known without them."""
        year = self._year(on).id
        return [
            item
            if carries_marker(item.description)
            else posted_voucher(self.client.voucher(str(item.series), int(str(item.number)), year))
            for item in self.client.vouchers(on, on, year)
        ]

    def post_invoice(
        self,
        sale: InvoiceSale,
        marker: str,
        *,
        as_order: bool,
        allow_tip: bool,
        on: date | None = None,
    ) -> PostedInvoice:
        """The customer is matched by number or org number, else created; the document is dated ``on``
        (pass the Z-report's business date; default today in Sweden)."""
        if self.mapping is None:
            raise FixData(
                "the Fortnox session was opened without the store's account mapping",
                "this is a bug in Dagskassa (open_session needs mapping= for invoicing); report it",
            )
        customer_number = self.client.find_or_create_customer(sale.customer)
        return self.client.create_invoice(
            sale,
            customer_number,
            self.mapping,
            on or self._today(),
            invoice_reference(sale.receipt_number, marker),
            tip_on_invoice=allow_tip,
            as_order=as_order,
        )

    def find_invoice(self, marker: str, on: date) -> PostedInvoice | None:
        """The invoice or order carrying ``marker``, dated ``on`` or later. Orders are searched only
        when the connection may read them (the ``order`` scope)."""
        found = self.client.find_invoice(marker, on)
        if found is None and "order" in self.client.tokens.load().scopes:
            found = self.client.find_invoice(marker, on, as_order=True)
        return found

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
        """Upload the file to the inbox and connect it to the voucher; its FileId. Once: a file uploaded
        by an earlier try (``upload_ref``, else one of that name still in the inbox) is connected instead
        of a new upload, and one already connected is left alone. Every file is reported to ``on_upload``
        before it is connected, and a file connects to one voucher only, so a caller that records it and
        hands it back can never put a second file on the voucher."""
        series, number = str(posted.series), int(str(posted.number))
        year = int(str(posted.year)) if posted.year is not None else self._year(posted.transaction_date).id
        try:
            file_id = upload_ref
            if file_id is not None:
                connected = self.client.file_connection(file_id)
                if connected is not None:
                    self._check_connected_to(connected, file_id, series, number, year, posted)
                    return file_id
            if file_id is None and not first_try:
                # Uploaded by a try whose answer was lost: recorded before it is connected, like a new
                # upload, or a lost answer to this connect would leave it connected and unrecorded, and
                # the next try (no longer finding it in the inbox) would upload a second file.
                file_id = self.client.inbox_file_named(filename)
                if file_id is not None and on_upload is not None:
                    on_upload(file_id)
            if file_id is not None:
                try:
                    self.client.connect_file(file_id, series, number, year)
                    return file_id
                except NotFound:
                    # The file left the inbox (a person removed it), or the voucher is gone: upload again
                    # once; a voucher that is gone answers NotFound again.
                    pass
            file_id = self.client.upload_to_inbox(filename, content)
            if on_upload is not None:
                on_upload(file_id)
            self.client.connect_file(file_id, series, number, year)
            return file_id
        except Reconnect as exc:
            raise Reconnect(exc.message, ATTACHMENT_FIX) from exc

    @staticmethod
    def _check_connected_to(
        connected: dict, file_id: str, series: str, number: int, year: int, posted: PostedVoucher
    ) -> None:
        where = (str(connected.get("VoucherSeries")), str(connected.get("VoucherNumber")))
        if where != (series, str(number)) or int(connected.get("VoucherYear") or year) != year:
            raise FixData(
                f"the Z-report file {file_id} is connected to Fortnox voucher {' '.join(where)}, "
                f"not to {posted.ref}",
                "move the file to the right voucher in Fortnox (Bokföring > Verifikationer), then mark the "
                "attachment as done or send it again",
            )

    def accounts(self) -> list[ChartAccount]:
        """The chart of the financial year of today (else of the latest year)."""
        years = self.client.financial_years()
        if not years:
            return []
        today = self._today()
        year = next((y for y in years if y.covers(today)), years[-1])
        return self.client.accounts(year.id)

    def voucher_series(self, on: date) -> list[NamedCode]:
        year = self.client.financial_year(on)
        return self.client.voucher_series(year.id) if year else []

    def cost_centers(self) -> list[NamedCode]:
        return self.client.cost_centers()

    def preflight(self, request: PreflightRequest) -> list[CheckResult]:
        return run_preflight(
            self.client,
            request.mapping,
            request.voucher_series,
            request.cost_center,
            request.on_date,
            request.invoicing,
            self._now,
            attachments=request.attachments,
        )

    def _today(self) -> date:
        return self._now().astimezone(STOCKHOLM).date()

    def _year(self, on: date) -> FinancialYear:
        known = next((year for year in self._years if year.covers(on)), None)
        if known is not None:
            return known
        year = self.client.financial_year(on)
        if year is not None:
            self._years.append(year)
        if year is None:
            raise FixData(
                f"Fortnox has no financial year covering {on}",
                "create the financial year in Fortnox (Inställningar > Bokföring > Räkenskapsår), then "
                "send the day again",
            )
        return year


def _fortnox_settings(settings: Settings | FortnoxSettings) -> FortnoxSettings:
    return settings if isinstance(settings, FortnoxSettings) else settings.fortnox


def make_oauth(settings: Settings | FortnoxSettings, http: httpx.Client) -> FortnoxOAuth:
    """The OAuth client for connecting a store (authorization URL, code exchange, revoke)."""
    return FortnoxOAuth.from_settings(http, _fortnox_settings(settings))


def open_session(
    settings: Settings | FortnoxSettings,
    http: httpx.Client,
    tokens: TokenStore,
    *,
    mapping: AccountMapping | None = None,
    limiters: LimiterRegistry | None = None,
    now: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    years: list[FinancialYear] | None = None,
) -> FortnoxSession:
    """A session over ``http`` for the connection whose tokens ``tokens`` keeps. Share ``limiters``
    between the sessions of a process so a connection's 25 requests per 5 s are counted once."""
    fortnox = _fortnox_settings(settings)
    limiters = limiters or LimiterRegistry(fortnox.requests_per_window)
    oauth = FortnoxOAuth(http, fortnox.client_id, fortnox.client_secret, fortnox.auth_url, now)
    limiter = limiters.for_connection(tokens.connection_key)
    client = FortnoxClient(http, tokens, oauth, limiter, fortnox.api_url, now, sleep)
    return FortnoxSession(client, mapping, now, years)


PROVIDER = register(
    Provider(
        identifier="fortnox",
        verbose_name="Fortnox",
        scopes=scopes_needed(invoicing=False),
        invoicing_scopes=INVOICING_SCOPES,
        open_session=open_session,
        extras={"make_oauth": make_oauth, "invoicing": True},
    )
)
