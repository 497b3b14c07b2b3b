"""A Fortnox company's books as the sandbox keeps them: accounts, financial years, voucher series, cost
centers, vouchers, and the tenant that holds them with its customers, invoices and orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from exporters.fortnox.sandbox.scopes import KNOWN_SCOPES


@dataclass
class Account:
    number: int
    description: str
    active: bool = True
    cost_center_settings: str = "ALLOWED"
    project_settings: str = "ALLOWED"
    vat_code: str = ""
    sru: int | None = None


@dataclass
class FinancialYear:
    id: int
    from_date: date
    to_date: date
    chart: str = "BAS 2025"
    accounting_method: str = "ACCRUAL"

    def covers(self, day: date) -> bool:
        return self.from_date <= day <= self.to_date


@dataclass
class VoucherSeries:
    code: str
    description: str
    manual: bool
    next_number: int = 1


@dataclass
class CostCenter:
    code: str
    description: str
    active: bool = True
    note: str = ""


@dataclass
class VoucherRow:
    account: int
    debit: Decimal
    credit: Decimal
    description: str = ""
    transaction_information: str = ""
    cost_center: str = ""
    project: str = ""
    quantity: Decimal = Decimal(0)


@dataclass
class Voucher:
    series: str
    number: int
    year: int
    transaction_date: date
    description: str
    rows: list[VoucherRow]
    comments: str = ""
    cost_center: str = ""
    project: str = ""
    reference_type: str = "MANUAL"
    reference_number: str = ""
    created_at: datetime | None = None


@dataclass
class InboxFile:
    """A file uploaded to the company's inbox (``POST /3/inbox``); it stays when connected to a voucher."""

    id: str
    name: str
    folder: str
    data: bytes
    content_type: str
    archive_file_id: str


@dataclass
class FileConnection:
    """A file connected to a voucher (``POST /3/voucherfileconnections``); one per file."""

    file_id: str
    year: int
    series: str
    number: int


@dataclass
class Tenant:
    """One Fortnox company (database), its books and its sales documents."""

    database_number: int
    company: dict[str, Any]
    accounts: dict[int, Account] = field(default_factory=dict)
    financial_years: dict[int, FinancialYear] = field(default_factory=dict)
    series: dict[tuple[int, str], VoucherSeries] = field(default_factory=dict)
    vouchers: dict[tuple[int, str, int], Voucher] = field(default_factory=dict)
    cost_centers: dict[str, CostCenter] = field(default_factory=dict)
    projects: dict[str, bool] = field(default_factory=dict)
    locked_until: date | None = None
    licenses: set[str] = field(default_factory=lambda: set(KNOWN_SCOPES))
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_customer_numbers: set[str] = field(default_factory=set)
    invoices: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, InboxFile] = field(default_factory=dict)
    #: Keyed by FileId, as Fortnox's ``/3/voucherfileconnections/{FileId}`` is.
    file_connections: dict[str, FileConnection] = field(default_factory=dict)

    def year_for(self, day: date) -> FinancialYear | None:
        return next((y for y in self.financial_years.values() if y.covers(day)), None)

    def add_financial_year(
        self, from_date: date, to_date: date, series: list[VoucherSeries]
    ) -> FinancialYear:
        year = FinancialYear(max(self.financial_years, default=0) + 1, from_date, to_date)
        self.financial_years[year.id] = year
        for one in series:
            self.series[(year.id, one.code)] = VoucherSeries(one.code, one.description, one.manual)
        return year
