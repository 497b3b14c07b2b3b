"""What a SIE 4 file holds, as the reader yields it (``iter_sie``) and collects it (``read_sie``).

Amounts are ``Decimal`` with two decimals; a positive amount is a debit, a credit is negative, as in SIE.
Object lists (``{1 "KS1" 6 "P7"}``: dimension 1 is the cost center, 6 the project) are tuples of
``(dimension, object)`` string pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from exporters.core.money import ZERO, money_str

#: The records a type 4E file may hold that a 4I file must not (FACTS.md 1.4).
BALANCE_LABELS = ("IB", "UB", "RES", "OIB", "OUB", "PSALDO", "PBUDGET")

Objects = tuple[tuple[str, str], ...]


class Record(NamedTuple):
    """An identification or chart record other than #KONTO (#FNAMN, #RAR, #DIM, #OBJEKT …).

    ``fields`` are the record's fields as written, unquoted; an object list is a tuple of pairs."""

    label: str
    fields: tuple[Any, ...]
    line: int


class Account(NamedTuple):
    """``#KONTO number name``."""

    number: int
    name: str
    line: int


class Balance(NamedTuple):
    """#IB, #UB, #RES (per account), #OIB, #OUB (per object), #PSALDO, #PBUDGET (per period)."""

    label: str
    year: int
    account: int
    amount: Decimal
    quantity: Decimal | None
    period: str | None
    objects: Objects
    line: int


class SieTrans(NamedTuple):
    """A #TRANS (or #RTRANS / #BTRANS) row. ``date`` is None when the row takes the voucher's date."""

    account: int
    objects: Objects
    amount: Decimal
    date: date | None
    text: str
    quantity: Decimal | None
    sign: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "objects": [list(pair) for pair in self.objects],
            "amount": money_str(self.amount),
            "date": self.date.isoformat() if self.date else None,
            "text": self.text,
            "quantity": str(self.quantity) if self.quantity is not None else None,
        }


class SieVoucher(NamedTuple):
    """``#VER series number date text reg_date sign`` and its rows.

    ``rows`` are the #TRANS rows: the voucher as it stands, and the only rows that must balance.
    ``added`` (#RTRANS) and ``removed`` (#BTRANS) are the change history some programs write; every
    #RTRANS is followed by a #TRANS copy of it, which is in ``rows``.
    """

    series: str
    number: str
    date: date
    text: str
    reg_date: date | None
    sign: str
    rows: tuple[SieTrans, ...]
    added: tuple[SieTrans, ...]
    removed: tuple[SieTrans, ...]
    line: int

    @property
    def total(self) -> Decimal:
        return sum((row.amount for row in self.rows), ZERO)

    def to_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "number": self.number,
            "date": self.date.isoformat(),
            "text": self.text,
            "reg_date": self.reg_date.isoformat() if self.reg_date else None,
            "line": self.line,
            "rows": [row.to_dict() for row in self.rows],
            "added": [row.to_dict() for row in self.added],
            "removed": [row.to_dict() for row in self.removed],
        }


@dataclass
class SieFile:
    """A whole SIE file, for files small enough to hold (use ``iter_sie`` for the rest)."""

    sie_type: str = "1"
    program: str = ""
    program_version: str = ""
    generated: date | None = None
    company_name: str = ""
    org_number: str = ""
    currency: str = "SEK"
    fiscal_years: dict[int, tuple[date, date]] = field(default_factory=dict)
    accounts: dict[int, str] = field(default_factory=dict)
    dimensions: dict[str, str] = field(default_factory=dict)
    objects: dict[tuple[str, str], str] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    balances: list[Balance] = field(default_factory=list)
    vouchers: list[SieVoucher] = field(default_factory=list)
    #: The #KSUMMA value, verified, or None when the file has none.
    checksum: int | None = None
    #: "ascii", "cp437" (the standard's PC8), "utf-8" (claims PC8 but is UTF-8) or "mixed".
    encoding: str = "ascii"

    @property
    def kind(self) -> str:
        """ "1", "2", "3", "4E" (an accounting program's export) or "4I" (a pre-system's import file).

        Both 4E and 4I say ``#SIETYP 4``; a 4I file must not hold balances (FACTS.md 1.4)."""
        if self.sie_type != "4":
            return self.sie_type
        return "4E" if self.balances else "4I"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sie_type": self.sie_type,
            "kind": self.kind,
            "program": {"name": self.program, "version": self.program_version},
            "generated": self.generated.isoformat() if self.generated else None,
            "company": {"name": self.company_name, "org_number": self.org_number},
            "currency": self.currency,
            "encoding": self.encoding,
            "checksum": self.checksum,
            "fiscal_years": {
                str(year): [start.isoformat(), end.isoformat()]
                for year, (start, end) in sorted(self.fiscal_years.items())
            },
            "accounts": [{"number": number, "name": name} for number, name in sorted(self.accounts.items())],
            "dimensions": [{"dimension": dim, "name": name} for dim, name in self.dimensions.items()],
            "objects": [
                {"dimension": dim, "object": obj, "name": name} for (dim, obj), name in self.objects.items()
            ],
            "vouchers": [voucher.to_dict() for voucher in self.vouchers],
        }
