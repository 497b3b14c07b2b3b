"""The Visma eEkonomi API client (eAccounting API v2): what Dagskassa reads and writes in a Visma company.

Every call goes one way: the limiter of (connection, endpoint) — Visma allows 600 requests per minute
per client and endpoint — then a Bearer token from the :class:`~exporters.tokens.TokenStore`
(refreshed before it expires, and once after a 401), then the answer translated by
:mod:`exporters.visma.errors`. GETs are repeated on 429, 5xx and network errors; POSTs never are: an
unanswered one raises OutcomeUnknown and the caller reconciles by the voucher's origin marker
(:meth:`VismaClient.find_voucher`: the vouchers of that date by ``$filter``, matching ``[marker]``).

Amounts travel as JSON numbers written from ``Decimal`` and are read back as ``Decimal``.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx

from config.settings import VismaSettings
from exporters.api_client import ApiClient
from exporters.core.errors import FixData, RetryLater
from exporters.core.voucher import Voucher
from exporters.limiter import LimiterRegistry
from exporters.tokens import TokenStore, utc_now
from exporters.visma.errors import RECONNECT_FIX, raise_for_response, translate_transport_error
from exporters.visma.oauth import VismaOAuth

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Visma's documented maximum
TRANSACTION_TEXT_MAX = 60
DOCUMENT_TYPE_VOUCHER = 3


@dataclass(frozen=True)
class FiscalYear:
    id: str
    start: date
    end: date
    locked: bool = False

    def covers(self, on_date: date) -> bool:
        return self.start <= on_date <= self.end


@dataclass(frozen=True)
class Account:
    number: int
    name: str
    active: bool
    cost_center_allowed: bool = True
    first_cost_center_mandatory: bool = False
    blocked_for_manual_booking: bool = False


@dataclass(frozen=True)
class CostCenterItem:
    """One item of a cost center dimension ("Kostnadsställe"); the store names it by ``short_name``."""

    id: str
    short_name: str
    name: str
    active: bool
    dimension: int = 1


def _date(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if isinstance(value, str) and value else None


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class VismaClient(ApiClient):
    """One Visma connection (one company). Thread-safe when its store, limiters and httpx client are."""

    service = "Visma"
    reconnect_fix = RECONNECT_FIX
    raise_for_response = staticmethod(raise_for_response)

    def __init__(
        self,
        http: httpx.Client,
        tokens: TokenStore,
        oauth: VismaOAuth,
        limiters: LimiterRegistry,
        api_url: str = "https://eaccountingapi.vismaonline.com",
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        get_attempts: int = 3,
    ) -> None:
        super().__init__(http, tokens, oauth, api_url, now, sleep, get_attempts)
        self.limiters = limiters

    @classmethod
    def from_settings(
        cls,
        http: httpx.Client,
        tokens: TokenStore,
        settings: VismaSettings,
        limiters: LimiterRegistry | None = None,
    ) -> VismaClient:
        oauth = VismaOAuth.from_settings(http, settings)
        limiters = limiters or LimiterRegistry(settings.requests_per_minute, 60.0)
        return cls(http, tokens, oauth, limiters, settings.api_url)

    # -- reading the company -------------------------------------------------------------------------

    def company_settings(self) -> dict[str, Any]:
        return self.get("/v2/companysettings")

    def lock_date(self) -> date | None:
        """The last date of the locked period (``AccountingLockedTo``), or None when nothing is locked."""
        return _date(self.company_settings().get("AccountingLockedTo"))

    def fiscal_years(self) -> list[FiscalYear]:
        return [
            FiscalYear(
                item["Id"],
                _date(item["StartDate"]),
                _date(item["EndDate"]),
                bool(item.get("IsLockedForAccounting")),
            )  # type: ignore[arg-type]
            for item in self.get_all("/v2/fiscalyears")
        ]

    def fiscal_year(self, on_date: date) -> FiscalYear | None:
        return next((year for year in self.fiscal_years() if year.covers(on_date)), None)

    def accounts(self, fiscal_year_id: str) -> list[Account]:
        """The chart of one fiscal year (Visma keeps one per year; ``Number`` is a string there)."""
        return [
            Account(
                number=int(item["Number"]),
                name=item.get("Name") or "",
                active=bool(item.get("IsActive", True)),
                cost_center_allowed=bool(item.get("IsCostCenterAllowed", True)),
                first_cost_center_mandatory=bool(item.get("IsFirstCostCenterMandatory")),
                blocked_for_manual_booking=bool(item.get("IsBlockedForManualBooking")),
            )
            for item in self.get_all(f"/v2/accounts/{fiscal_year_id}")
        ]

    def cost_center_items(self) -> list[CostCenterItem]:
        """Every item of every cost center dimension (dimension = the cost center's Number, 1..3)."""
        items = []
        for center in self.get_all("/v2/costcenters"):
            for item in center.get("Items") or []:
                items.append(
                    CostCenterItem(
                        item["Id"],
                        item.get("ShortName") or "",
                        item.get("Name") or "",
                        bool(item.get("IsActive", True)) and bool(center.get("IsActive", True)),
                        int(center.get("Number") or 1),
                    )
                )
        return items

    # -- vouchers --------------------------------------------------------------------------------------

    def vouchers(self, from_date: date, to_date: date) -> list[dict[str, Any]]:
        """Every voucher dated within [from_date, to_date], with rows, by ``$filter`` on VoucherDate."""
        condition = f"VoucherDate ge {from_date.isoformat()} and VoucherDate le {to_date.isoformat()}"
        return list(self.get_all("/v2/vouchers", {"$filter": condition}))

    def voucher(self, fiscal_year_id: str, voucher_id: str) -> dict[str, Any]:
        return self.get(f"/v2/vouchers/{fiscal_year_id}/{voucher_id}")

    def create_voucher(
        self, voucher: Voucher, cost_center_items: Mapping[str, CostCenterItem] | None = None
    ) -> dict[str, Any]:
        """Post ``voucher`` (never repeated: after OutcomeUnknown call :meth:`find_voucher` first).
        ``cost_center_items`` resolves the rows' cost center (a short name) to Visma's item."""
        body = voucher_body(voucher, cost_center_items or {})
        params = {"useDefaultVoucherSeries": "false"} if voucher.series else None
        posted = self.post("/v2/vouchers", body, params)
        log.info("posted Visma voucher %s for %s", posted.get("NumberAndNumberSeries"), voucher.marker)
        return posted

    def find_voucher(self, marker: str, on_date: date) -> dict[str, Any] | None:
        """The voucher of ``on_date`` whose text carries ``[marker]``, or None (the reconcile step)."""
        tag = f"[{marker}]"
        return next(
            (item for item in self.vouchers(on_date, on_date) if tag in (item.get("VoucherText") or "")), None
        )

    # -- attachments -----------------------------------------------------------------------------------

    def attachment(self, attachment_id: str) -> dict[str, Any]:
        return self.get(f"/v2/attachments/{attachment_id}")

    def unmatched_attachments(self) -> list[dict[str, Any]]:
        return list(
            self.get_all("/v2/attachments", {"includeMatched": "false", "includeTemporaryUrl": "false"})
        )

    def upload_attachment(self, file_name: str, content: bytes, content_type: str = "application/pdf") -> str:
        body = {
            "ContentType": content_type,
            "FileName": file_name,
            "Data": base64.b64encode(content).decode(),
        }
        return str(self.post("/v2/attachments", body)["Id"])

    def link_attachments(self, voucher_id: str, attachment_ids: list[str]) -> None:
        body = {
            "DocumentId": voucher_id,
            "DocumentType": DOCUMENT_TYPE_VOUCHER,
            "AttachmentIds": attachment_ids,
        }
        self.post("/v2/attachmentlinks", body)

    # -- the one request path ------------------------------------------------------------------------

    def get_all(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a ``Meta``/``Data`` list, page by page (Visma's default page is only 50)."""
        page = 1
        while True:
            answer = self.get(path, {**(params or {}), "$page": page, "$pagesize": PAGE_SIZE})
            yield from answer.get("Data") or []
            if page >= int((answer.get("Meta") or {}).get("TotalNumberOfPages") or 0):
                return
            page += 1

    def _slot(self, path: str) -> AbstractContextManager[object]:
        """Visma limits each endpoint (the path's first part after /v2/) on its own."""
        endpoint = path.removeprefix("/v2/").split("/")[0].lower()
        return self.limiters.for_connection(f"{self.tokens.connection_key}:{endpoint}").slot()

    def _no_answer(self, exc: httpx.TransportError, method: str, path: str) -> RetryLater:
        return translate_transport_error(exc, method, path)


def voucher_body(voucher: Voucher, cost_center_items: Mapping[str, CostCenterItem]) -> dict[str, Any]:
    """The POST /v2/vouchers body: VoucherText with the marker, rows with TransactionText (at most 60
    characters) and the store's cost center as CostCenterItemId1..3 (the item's id, in its dimension)."""
    rows = []
    for row in voucher.rows:
        item: dict[str, Any] = {
            "AccountNumber": row.account,
            "DebitAmount": row.debit,
            "CreditAmount": row.credit,
        }
        if row.text:
            item["TransactionText"] = clip(row.text, TRANSACTION_TEXT_MAX)
        if row.cost_center:
            found = cost_center_items.get(row.cost_center)
            if found is None:
                raise FixData(
                    f"the cost center {row.cost_center!r} is not a cost center item in Visma",
                    "choose one of Visma's cost center items (by its short name) in the integration settings",
                )
            item[f"CostCenterItemId{found.dimension}"] = found.id
        if row.project:
            raise FixData(
                f"the store's project {row.project!r} cannot be posted to Visma yet",
                "remove the project from the store's integration settings",
            )
        rows.append(item)
    body: dict[str, Any] = {
        "VoucherDate": voucher.transaction_date.isoformat(),
        "VoucherText": voucher.description,
        "Rows": rows,
    }
    if voucher.series:
        body["NumberSeries"] = voucher.series
    return body
