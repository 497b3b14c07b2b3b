"""Accounting providers as plug-ins: Fortnox, Visma eEkonomi, and whatever comes next.

A provider declares an ``identifier`` ("fortnox"), a ``verbose_name`` and what it needs, and opens a
:class:`AccountingSession` for one store's connection. The export pipeline and the BackOffice only ever
talk to these two shapes, so adding a provider is adding a module that calls :func:`register`; no code in
the core, the pipeline or the BackOffice changes. (pretix's exporters and payment providers work the
same way.)

Every method raises only the shared error tree of :mod:`exporters.core.errors`: ``RetryLater`` /
``OutcomeUnknown`` (try again, reconcile first), ``Rejected`` / ``FixData`` (a person must fix data),
``Reconnect`` (the connection is dead), ``NotFound``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from exporters.core.mapping import AccountMapping
from exporters.core.voucher import Voucher
from exporters.core.zreport import InvoiceSale


@dataclass(frozen=True)
class PostedVoucher:
    """A voucher as the accounting system holds it."""

    #: Human reference as the accounting system shows it, e.g. "K 142 (2026)".
    ref: str
    transaction_date: date
    description: str
    series: str | None = None
    number: int | str | None = None
    year: int | str | None = None
    #: (account, debit, credit) per row, when the listing gave them.
    rows: tuple[tuple[int, Decimal, Decimal], ...] = ()


@dataclass(frozen=True)
class PostedInvoice:
    """An invoice (or order) created for a sale paid on invoice."""

    ref: str
    kind: str  # "invoice" or "order"
    customer_number: str
    total: Decimal


@dataclass(frozen=True)
class ChartAccount:
    number: int
    description: str
    active: bool = True
    cost_center_rule: str = "ALLOWED"
    project_rule: str = "ALLOWED"


@dataclass(frozen=True)
class NamedCode:
    """A voucher series or cost center as the provider lists it."""

    code: str
    description: str = ""
    active: bool = True
    #: Voucher series only: whether people may post to it by hand ("Manuell kontering").
    manual: bool = True


@dataclass(frozen=True)
class CheckResult:
    """One preflight check: its name, pass/fail, the evidence seen and the fix in a manager's words."""

    name: str
    ok: bool
    evidence: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "evidence": self.evidence, "fix": self.fix}


@dataclass(frozen=True)
class PreflightRequest:
    """What the store will post, so every check can be made against it."""

    mapping: AccountMapping
    voucher_series: str | None
    cost_center: str | None
    project: str | None
    on_date: date
    invoicing: bool = False
    use_orders: bool = False
    #: The store attaches each day's Z-report to its voucher (permissions for files are checked too).
    attachments: bool = False


class AccountingSession(Protocol):
    """One store's connection to its accounting system, ready to use."""

    def post_voucher(self, voucher: Voucher) -> PostedVoucher:
        """Create the voucher. Not idempotent: after ``OutcomeUnknown`` call :meth:`find_voucher` first."""

    def find_voucher(self, marker: str, on: date, series: str | None = None) -> PostedVoucher | None:
        """The voucher dated ``on`` whose description carries ``[marker]``, if one was posted."""

    def vouchers_on(self, on: date) -> list[PostedVoucher]:
        """Every voucher dated ``on`` in any series, with rows: evidence for the double-booking guard."""

    def post_invoice(
        self, sale: InvoiceSale, marker: str, *, as_order: bool, allow_tip: bool, on: date | None = None
    ) -> PostedInvoice:
        """Create an invoice (or order) dated ``on`` (the sales day) for a sale on invoice; the customer
        is matched or created."""

    def find_invoice(self, marker: str, on: date) -> PostedInvoice | None:
        """The invoice or order carrying ``marker`` created for a sale of day ``on``, if any."""

    def attach_file(
        self,
        posted: PostedVoucher,
        filename: str,
        content: bytes,
        *,
        upload_ref: str | None = None,
        on_upload: Callable[[str], None] | None = None,
        first_try: bool = False,
    ) -> str | None:
        """Attach a file (the Z-report PDF) to a posted voucher, once; return the attachment's reference.

        Uploading and linking are two calls, and an answer can be lost between them. ``on_upload`` is
        called with the upload's reference before it is linked, so the caller can record it; on the next
        try the caller passes it back as ``upload_ref`` and the session checks whether it is linked
        already instead of uploading again. A file of that name already on the voucher, or uploaded and
        never linked, is used instead of a new upload, unless the caller says this is its ``first_try``
        (nothing can have been sent before: the look-up calls are saved)."""

    def accounts(self) -> list[ChartAccount]: ...

    def voucher_series(self, on: date) -> list[NamedCode]: ...

    def cost_centers(self) -> list[NamedCode]: ...

    def preflight(self, request: PreflightRequest) -> list[CheckResult]: ...


@dataclass(frozen=True)
class Provider:
    """An accounting system Dagskassa can post to."""

    identifier: str
    verbose_name: str
    #: OAuth scopes needed, without and with invoicing.
    scopes: tuple[str, ...]
    invoicing_scopes: tuple[str, ...] = ()
    #: Builds a session from (settings, httpx client, token store); the provider's own wiring.
    open_session: Callable[..., AccountingSession] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    """Make a provider available under its identifier (called by the provider's module on import)."""
    _REGISTRY[provider.identifier] = provider
    return provider


def get_provider(identifier: str) -> Provider:
    """The provider registered under ``identifier``; providers shipped with Dagskassa load on demand."""
    if identifier not in _REGISTRY:
        module = f"exporters.{identifier}.provider"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name not in (module, f"exporters.{identifier}"):
                raise
    try:
        return _REGISTRY[identifier]
    except KeyError:
        raise KeyError(
            f"no accounting provider {identifier!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def providers() -> list[Provider]:
    return sorted(_REGISTRY.values(), key=lambda provider: provider.identifier)
