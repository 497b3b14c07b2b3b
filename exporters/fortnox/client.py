"""The Fortnox API client: what Dagskassa reads and writes in a Fortnox company.

Every call goes through one path: the connection's limiter, a Bearer token from the
:class:`~exporters.fortnox.tokens.TokenStore` (refreshed before it expires, and once after a 401), then
the answer translated into the shared error tree (exporters.fortnox.errors). GETs are repeated on 429,
5xx and network errors, a few times with backoff; POSTs and PUTs never are: an unanswered one raises
OutcomeUnknown and the caller reconciles by the voucher's origin marker (:meth:`find_posted_voucher`).

Bodies are built in ``bodies.py``; amounts travel as JSON numbers written from ``Decimal`` (never
through ``float``) and are read back as ``Decimal``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from config.settings import FortnoxSettings
from exporters.api_client import ApiClient
from exporters.core.errors import NotFound, RetryLater
from exporters.core.mapping import AccountMapping
from exporters.core.voucher import Voucher
from exporters.core.zreport import Customer, InvoiceSale
from exporters.fortnox.bodies import invoice_body, voucher_body
from exporters.fortnox.errors import raise_for_response, translate_transport_error
from exporters.fortnox.limiter import SlidingWindowLimiter
from exporters.fortnox.oauth import FortnoxOAuth
from exporters.fortnox.tokens import RECONNECT_FIX, TokenSet, TokenStore, utc_now
from exporters.jsonmoney import encode_json as encode_json
from exporters.providers import ChartAccount, NamedCode, PostedInvoice, PostedVoucher

log = logging.getLogger(__name__)

PAGE_LIMIT = 500
#: The inbox folder for voucher documents ("Verifikationer"); the id is our reading, see the sandbox.
VOUCHER_FOLDER = "inbox_v"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class FinancialYear:
    id: int
    from_date: date
    to_date: date
    accounting_method: str = ""

    def covers(self, on_date: date) -> bool:
        return self.from_date <= on_date <= self.to_date


def _financial_year(item: Mapping[str, Any]) -> FinancialYear:
    return FinancialYear(
        id=int(item["Id"]),
        from_date=date.fromisoformat(item["FromDate"]),
        to_date=date.fromisoformat(item["ToDate"]),
        accounting_method=item.get("AccountingMethod") or "",
    )


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


class FortnoxClient(ApiClient):
    """One Fortnox connection (one company). Thread-safe when its store, limiter and httpx client are."""

    service = "Fortnox"
    reconnect_fix = RECONNECT_FIX
    raise_for_response = staticmethod(raise_for_response)

    def __init__(
        self,
        http: httpx.Client,
        tokens: TokenStore,
        oauth: FortnoxOAuth,
        limiter: SlidingWindowLimiter,
        api_url: str = "https://api.fortnox.se",
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        get_attempts: int = 3,
    ) -> None:
        super().__init__(http, tokens, oauth, api_url, now, sleep, get_attempts)
        self.limiter = limiter
        #: Items per page of a list (Fortnox allows at most 500).
        self.page_limit = PAGE_LIMIT

    @classmethod
    def from_settings(
        cls,
        http: httpx.Client,
        tokens: TokenStore,
        oauth: FortnoxOAuth,
        limiter: SlidingWindowLimiter,
        settings: FortnoxSettings,
    ) -> FortnoxClient:
        return cls(http, tokens, oauth, limiter, settings.api_url)

    # -- reading the company -------------------------------------------------------------------------

    def company_information(self) -> dict[str, Any]:
        return self.get("/3/companyinformation")["CompanyInformation"]

    def financial_year(self, on_date: date) -> FinancialYear | None:
        """The financial year covering ``on_date``, or None when the company has none for it."""
        years = self.get("/3/financialyears", {"date": on_date.isoformat()}).get("FinancialYears") or []
        return next((year for year in map(_financial_year, years) if year.covers(on_date)), None)

    def financial_years(self) -> list[FinancialYear]:
        """Every financial year of the company, oldest first."""
        years = [_financial_year(item) for item in self.get_all("/3/financialyears", "FinancialYears")]
        return sorted(years, key=lambda year: year.from_date)

    def accounts(self, financial_year: int) -> list[ChartAccount]:
        """The chart of accounts of a financial year (every page), with each account's cost-center and
        project rule (ALLOWED, MANDATORY, NOTALLOWED)."""
        return [
            ChartAccount(
                number=int(item["Number"]),
                description=item.get("Description") or "",
                active=bool(item.get("Active", True)),
                cost_center_rule=item.get("CostCenterSettings") or "ALLOWED",
                project_rule=item.get("ProjectSettings") or "ALLOWED",
            )
            for item in self.get_all("/3/accounts", "Accounts", {"financialyear": financial_year})
        ]

    def voucher_series(self, financial_year: int) -> list[NamedCode]:
        """The voucher series of a financial year (series are per year), with their Manual flag."""
        return [
            NamedCode(
                code=item["Code"], description=item.get("Description") or "", manual=bool(item.get("Manual"))
            )
            for item in self.get_all(
                "/3/voucherseries", "VoucherSeriesCollection", {"financialyear": financial_year}
            )
        ]

    def cost_centers(self) -> list[NamedCode]:
        return [
            NamedCode(
                code=item["Code"],
                description=item.get("Description") or "",
                active=bool(item.get("Active", True)),
            )
            for item in self.get_all("/3/costcenters", "CostCenters")
        ]

    def locked_period_end(self) -> date | None:
        """The last locked date, or None when no period is locked."""
        locked = self.get("/3/settings/lockedperiod").get("LockedPeriod") or {}
        return _date(locked.get("EndDate"))

    # -- vouchers ------------------------------------------------------------------------------------

    def vouchers(
        self, from_date: date, to_date: date, financial_year: int, series: str | None = None
    ) -> list[PostedVoucher]:
        """Vouchers dated within [from_date, to_date] (the list has no rows: see :meth:`voucher`)."""
        path = f"/3/vouchers/sublist/{series}" if series else "/3/vouchers"
        params = {
            "financialyear": financial_year,
            "fromdate": from_date.isoformat(),
            "todate": to_date.isoformat(),
        }
        return [posted_voucher(item) for item in self.get_all(path, "Vouchers", params)]

    def voucher(self, series: str, number: int, financial_year: int) -> dict[str, Any]:
        """One voucher with its rows, as Fortnox returns it (amounts as Decimal)."""
        return self.get(f"/3/vouchers/{series}/{number}", {"financialyear": financial_year})["Voucher"]

    def create_voucher(
        self, voucher: Voucher, financial_year: int, series: str | None = None
    ) -> PostedVoucher:
        """Post ``voucher`` into ``financial_year`` (its Id, always explicit). Never repeated by the
        client: on OutcomeUnknown the caller must look it up with :meth:`find_posted_voucher` first."""
        body = voucher_body(voucher, series)
        answer = self.post("/3/vouchers", body, {"financialyear": financial_year})
        posted = posted_voucher(answer["Voucher"])
        log.info(
            "posted voucher %s %s (financial year %s) for %s",
            posted.series,
            posted.number,
            posted.year,
            voucher.marker,
        )
        return posted

    def find_posted_voucher(
        self, marker: str, on_date: date, financial_year: int, series: str | None = None
    ) -> PostedVoucher | None:
        """The voucher of ``on_date`` whose description carries ``[marker]``, or None (the reconcile step:
        a voucher sent without an answer is adopted instead of being posted twice)."""
        tag = f"[{marker}]"
        for posted in self.vouchers(on_date, on_date, financial_year, series):
            description = posted.description
            if not description:
                description = (
                    self.voucher(posted.series, posted.number, financial_year).get("Description") or ""
                )
            if tag in description:
                return posted
        return None

    # -- customers, invoices, orders -----------------------------------------------------------------

    def find_customer(self, customer: Customer) -> str | None:
        """The Fortnox customer number for ``customer``: by its number, else by its org number."""
        if customer.number:
            try:
                found = self.get(f"/3/customers/{quote(customer.number, safe='')}")["Customer"]
                return str(found["CustomerNumber"])
            except NotFound:
                pass
        if customer.org_number:
            wanted = _digits(customer.org_number)[-10:]
            # Fortnox searches with LIKE on the text as stored, usually NNNNNN-NNNN: ask for both forms
            # and compare the digits exactly (a LIKE also finds longer numbers containing ours).
            for term in dict.fromkeys((f"{wanted[:6]}-{wanted[6:]}", wanted)):
                for item in self.get_all("/3/customers", "Customers", {"organisationnumber": term}):
                    if _digits(item.get("OrganisationNumber") or "")[-10:] == wanted:
                        return str(item["CustomerNumber"])
        return None

    def find_or_create_customer(self, customer: Customer) -> str:
        """The customer's number in Fortnox, creating the customer (with the register's number, if it
        gave one) when neither its number nor its org number is known there."""
        number = self.find_customer(customer)
        if number is not None:
            return number
        body: dict[str, Any] = {"Name": customer.name}
        if customer.number:
            body["CustomerNumber"] = customer.number
        if customer.org_number:
            body["OrganisationNumber"] = customer.org_number
        created = self.post("/3/customers", {"Customer": body})["Customer"]
        log.info("created Fortnox customer %s (%s)", created["CustomerNumber"], customer.name)
        return str(created["CustomerNumber"])

    def create_invoice(
        self,
        sale: InvoiceSale,
        customer_number: str,
        mapping: AccountMapping,
        on_date: date,
        reference: str,
        tip_on_invoice: bool = False,
        as_order: bool = False,
    ) -> PostedInvoice:
        """An invoice (or, with ``as_order``, an order) dated ``on_date`` for a sale made on account.
        ``reference`` (e.g. ``Kvitto 881 [dk:…]``, at most 80 characters) goes into
        ExternalInvoiceReference1, where :meth:`find_invoice` finds it again. Never repeated by the
        client (see :meth:`create_voucher`)."""
        kind = "Order" if as_order else "Invoice"
        body = invoice_body(sale, customer_number, mapping, on_date, reference, tip_on_invoice, as_order)
        document = self.post(f"/3/{kind.lower()}s", {kind: body})[kind]
        log.info(
            "created Fortnox %s %s for receipt %s",
            kind.lower(),
            document["DocumentNumber"],
            sale.receipt_number,
        )
        return _posted_document(document, kind)

    def find_invoice(self, marker: str, since: date, as_order: bool = False) -> PostedInvoice | None:
        """The invoice (or order) dated ``since`` or later whose ExternalInvoiceReference1 carries
        ``[marker]``, or None: the reconcile step for documents."""
        kind = "Order" if as_order else "Invoice"
        tag = f"[{marker}]"
        for item in self.get_all(f"/3/{kind.lower()}s", f"{kind}s", {"fromdate": since.isoformat()}):
            if tag in (item.get("ExternalInvoiceReference1") or ""):
                return _posted_document(item, kind)
        return None

    # -- files: the inbox and voucher file connections -----------------------------------------------

    def upload_to_inbox(
        self,
        filename: str,
        content: bytes,
        content_type: str = "application/pdf",
        folder: str = VOUCHER_FOLDER,
    ) -> str:
        """Upload a file to the inbox folder ``folder`` (multipart, scope ``inbox``); its FileId. Never
        repeated: after OutcomeUnknown look for it with :meth:`inbox_file_named` before uploading again."""
        encoded = httpx.Request("POST", self.api_url, files={"file": (filename, content, content_type)})
        body = encoded.read()
        answer = self.post_content("/3/inbox", body, encoded.headers["Content-Type"], {"folderId": folder})
        log.info("uploaded %s to the Fortnox inbox as %s", filename, answer["File"]["Id"])
        return str(answer["File"]["Id"])

    def inbox_file_named(self, filename: str, folder: str = VOUCHER_FOLDER) -> str | None:
        """The FileId of a file called ``filename`` in the inbox folder, not yet connected to a voucher."""
        files = self.get("/3/inbox", {"folderId": folder}).get("Folder", {}).get("Files") or []
        return next((str(item["Id"]) for item in files if item.get("Name") == filename), None)

    def connect_file(self, file_id: str, series: str, number: int, financial_year: int) -> dict[str, Any]:
        """Connect an uploaded file to voucher ``series`` ``number`` of ``financial_year`` (scope
        ``connectfile``). Never repeated: after OutcomeUnknown look with :meth:`file_connection`."""
        body = {
            "VoucherFileConnection": {
                "FileId": file_id,
                "VoucherSeries": series,
                "VoucherNumber": str(number),
            }
        }
        answer = self.post("/3/voucherfileconnections", body, {"financialyear": financial_year})
        log.info(
            "connected file %s to voucher %s %s (financial year %s)", file_id, series, number, financial_year
        )
        return answer["VoucherFileConnection"]

    def file_connection(self, file_id: str) -> dict[str, Any] | None:
        """The voucher the file is connected to (``VoucherSeries``, ``VoucherNumber``, ``VoucherYear``),
        or None when it is connected to none."""
        try:
            return self.get(f"/3/voucherfileconnections/{quote(file_id, safe='')}")["VoucherFileConnection"]
        except NotFound:
            return None

    def file_connections(self) -> list[dict[str, Any]]:
        """Every voucher file connection of the company."""
        return list(self.get_all("/3/voucherfileconnections", "VoucherFileConnections"))

    # -- the one request path ------------------------------------------------------------------------

    def get_all(
        self, path: str, key: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (MetaInformation; lists without it are one page)."""
        page = 1
        while True:
            answer = self.get(path, {**(params or {}), "limit": self.page_limit, "page": page})
            yield from answer.get(key) or []
            meta = answer.get("MetaInformation") or {}
            if page >= int(meta.get("@TotalPages") or 0):
                return
            page += 1

    def renew_tokens(self) -> TokenSet:
        """Refresh now, whatever the access token's age: the scheduler's keep-alive, run well before the
        refresh token's 45 days are up. Raises Reconnect (and marks the connection) if it is dead."""
        return self._refresh(self.tokens.load())

    def _slot(self, path: str) -> AbstractContextManager[object]:
        return self.limiter.slot()

    def _no_answer(self, exc: httpx.TransportError, method: str, path: str) -> RetryLater:
        return translate_transport_error(exc, method)


def posted_voucher(item: Mapping[str, Any]) -> PostedVoucher:
    """A voucher of Fortnox's answer; ``year`` is Fortnox's financial year Id, ``ref`` e.g. "K 12"."""
    series, number = str(item["VoucherSeries"]), int(item["VoucherNumber"])
    rows = tuple(
        (int(row["Account"]), _money(row.get("Debit")), _money(row.get("Credit")))
        for row in item.get("VoucherRows") or ()
        if not row.get("Removed")
    )
    return PostedVoucher(
        ref=f"{series} {number}",
        transaction_date=date.fromisoformat(item["TransactionDate"]),
        description=item.get("Description") or "",
        series=series,
        number=number,
        year=int(item["Year"]),
        rows=rows,
    )


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _posted_document(item: Mapping[str, Any], kind: str) -> PostedInvoice:
    return PostedInvoice(
        ref=str(item["DocumentNumber"]),
        kind=kind.lower(),
        customer_number=str(item["CustomerNumber"]),
        total=_money(item.get("Total")),
    )


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
