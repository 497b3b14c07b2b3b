"""The double-import guard (DESIGN.md section 7): the same day must not reach the books twice.

Layer 1, one channel per day: a day goes to the accounting system through its API or through a SIE
file, never both. The BackOffice enforces it with a unique key in its database; the rules and the
refusals (listing the days) are here: :func:`check_sie_export`, :func:`check_sync_start`.

Layer 3, a SIE file about to be imported: :func:`find_duplicates` lists each #VER that books a day
Dagskassa already posted, as an *exact* match (same date, same account/amount pairs) or a *probable*
one (same date, same output VAT and same sales totals: a register's own SIE export of the same day,
which books payments to other accounts). Booked vouchers are Dagskassa's as they stand in the books
(:class:`BookedVoucher`, from a core ``Voucher`` or a provider's ``PostedVoucher``): leave out a voucher
that a reversal cancelled, and the reversal.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from exporters.core.errors import FixData
from exporters.core.money import ZERO, MoneyFormatError, money_str, parse_money
from exporters.core.voucher import Voucher
from exporters.providers import PostedVoucher
from exporters.sie.errors import ChannelConflict
from exporters.sie.model import Record, SieVoucher
from exporters.sie.reader import iter_sie
from exporters.sie.text import Source

#: BAS output VAT (2610-2639: utgående moms) and sales (3000-3699: försäljning; 37xx are corrections
#: such as discounts and öresavrundning, which registers book in different ways).
OUTPUT_VAT_ACCOUNTS = range(2610, 2640)
SALES_ACCOUNTS = range(3000, 3700)

EXACT, PROBABLE = "exact", "probable"
_MARKER = re.compile(r"\[(dk:[0-9a-f]+(?:\.\d+)?r?)\]")


def check_sie_export(requested: Iterable[date], posted_via_api: Iterable[date]) -> None:
    """Refuse a SIE export that includes days already posted through the API, listing those days."""
    clash = set(requested) & set(posted_via_api)
    if clash:
        raise ChannelConflict(
            "these days were already posted to the accounting system through the API",
            clash,
            "leave them out of the SIE file; each day goes through one channel only",
        )


def check_sync_start(start: date, exported_via_sie: Iterable[date]) -> None:
    """Refuse to turn on posting through the API from ``start`` over days already exported as SIE."""
    clash = {day for day in exported_via_sie if day >= start}
    if clash:
        first_free = max(clash) + timedelta(days=1)
        raise ChannelConflict(
            "these days were already exported as a SIE file",
            clash,
            f"start the sync on {first_free.isoformat()} or later, after the last of them",
        )


@dataclass(frozen=True)
class BookedVoucher:
    """A voucher Dagskassa posted: its date and signed rows (positive is a debit)."""

    transaction_date: date
    rows: tuple[tuple[int, Decimal], ...]
    description: str = ""
    marker: str = ""
    #: Where it is in the books, e.g. ``K 12`` (series and number), if known.
    reference: str = ""

    @classmethod
    def from_voucher(cls, voucher: Voucher, reference: str = "") -> BookedVoucher:
        rows = tuple((row.account, row.amount) for row in voucher.rows)
        return cls(voucher.transaction_date, rows, voucher.description, voucher.marker, reference)

    @classmethod
    def from_posted(cls, posted: PostedVoucher) -> BookedVoucher:
        """From what an accounting provider lists (``exporters.providers.PostedVoucher``)."""
        rows = tuple((account, debit - credit) for account, debit, credit in posted.rows)
        marker = _MARKER.search(posted.description)
        return cls(posted.transaction_date, rows, posted.description, marker[1] if marker else "", posted.ref)

    def label(self) -> str:
        return self.reference or self.description or self.marker or self.transaction_date.isoformat()


@dataclass(frozen=True)
class DuplicateMatch:
    """A #VER of the SIE file that books a day already posted, and why we think so."""

    voucher: SieVoucher
    posted: BookedVoucher
    kind: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        ver = self.voucher
        head = (
            f"line {ver.line}: #VER {ver.series!r} {ver.number!r} {ver.date.isoformat()} {ver.text!r} "
            f"is {'an EXACT' if self.kind == EXACT else 'a PROBABLE'} duplicate of {self.posted.label()}"
        )
        if self.kind == EXACT:
            reason = f"same date and the same {self.evidence['pairs']} account/amount pairs"
        else:
            reason = (
                f"same date, output VAT {self.evidence['vat_total']} and sales {self.evidence['sales_total']}; "
                f"other rows differ: {self.evidence['differences']}"
            )
        if self.evidence.get("marker"):
            reason += f"; its text carries our marker {self.evidence['marker']}"
        return f"{head}: {reason}"

    def to_dict(self) -> dict[str, Any]:
        ver = self.voucher
        return {
            "kind": self.kind,
            "sie_voucher": {
                "line": ver.line,
                "series": ver.series,
                "number": ver.number,
                "date": ver.date.isoformat(),
                "text": ver.text,
            },
            "posted": {
                "transaction_date": self.posted.transaction_date.isoformat(),
                "reference": self.posted.reference,
                "description": self.posted.description,
                "marker": self.posted.marker,
            },
            "evidence": self.evidence,
        }


def _total(pairs: Iterable[tuple[int, Decimal]], accounts: Sequence[int]) -> Decimal:
    return sum((amount for account, amount in pairs if account in accounts), ZERO)


def _net(pairs: Iterable[tuple[int, Decimal]]) -> defaultdict[int, Decimal]:
    net: defaultdict[int, Decimal] = defaultdict(lambda: ZERO)
    for account, amount in pairs:
        net[account] += amount
    return net


def find_duplicates(
    vouchers: Iterable[SieVoucher],
    posted: Iterable[BookedVoucher],
    vat_accounts: Sequence[int] = OUTPUT_VAT_ACCOUNTS,
    sales_accounts: Sequence[int] = SALES_ACCOUNTS,
) -> list[DuplicateMatch]:
    """Each SIE voucher that duplicates a posted one, with its best match (exact before probable).

    ``vouchers`` may be ``iter_sie``'s stream: only the matches are kept, so memory stays flat in the
    size of the SIE file."""
    by_date: dict[date, list[BookedVoucher]] = defaultdict(list)
    for voucher in posted:
        by_date[voucher.transaction_date].append(voucher)
    matches = []
    for ver in vouchers:
        candidates = by_date.get(ver.date)
        if not candidates:
            continue
        match = _best_match(ver, candidates, vat_accounts, sales_accounts)
        if match is not None:
            matches.append(match)
    return matches


def _best_match(
    ver: SieVoucher,
    candidates: list[BookedVoucher],
    vat_accounts: Sequence[int],
    sales_accounts: Sequence[int],
) -> DuplicateMatch | None:
    pairs = [(row.account, row.amount) for row in ver.rows if row.amount]
    multiset = Counter(pairs)
    vat, sales = _total(pairs, vat_accounts), _total(pairs, sales_accounts)
    probable = None
    for candidate in candidates:
        theirs = [(account, amount) for account, amount in candidate.rows if amount]
        evidence: dict[str, Any] = {"date": ver.date.isoformat()}
        if candidate.marker and f"[{candidate.marker}]" in ver.text:
            evidence["marker"] = candidate.marker
        if Counter(theirs) == multiset:
            evidence["pairs"] = len(pairs)
            return DuplicateMatch(ver, candidate, EXACT, evidence)
        if (
            probable is None
            and sales
            and _total(theirs, sales_accounts) == sales
            and _total(theirs, vat_accounts) == vat
        ):
            ours, in_file = _net(theirs), _net(pairs)
            evidence["vat_total"] = money_str(vat)
            evidence["sales_total"] = money_str(sales)
            evidence["differences"] = ", ".join(
                f"{account}: {money_str(in_file[account])} in the file, {money_str(ours[account])} posted"
                for account in sorted(set(ours) | set(in_file))
                if ours[account] != in_file[account]
            )
            probable = DuplicateMatch(ver, candidate, PROBABLE, evidence)
    return probable


@dataclass(frozen=True)
class ImportCheck:
    """Layer 3's report on one SIE file: its vouchers, those that duplicate ours, and whose file it is."""

    vouchers: int
    duplicates: tuple[DuplicateMatch, ...]
    #: The file's #ORGNR, and whether it names another company than the store's (when that was given).
    org_number: str = ""
    other_company: bool = False

    def lines(self, name: str) -> list[str]:
        """The report in words, as ``dagskassa sie check`` prints it."""
        lines = []
        if self.other_company:
            lines.append(f"{name} is for organisation number {self.org_number}, not this store's")
        if not self.duplicates:
            return [*lines, f"none of the {self.vouchers} vouchers in {name} books a day already posted"]
        lines.append(
            f"{len(self.duplicates)} of {self.vouchers} vouchers in {name} book days already posted:"
        )
        return lines + [f"  {match.describe()}" for match in self.duplicates]

    def to_dict(self) -> dict[str, Any]:
        return {
            "vouchers": self.vouchers,
            "org_number": self.org_number,
            "other_company": self.other_company,
            "duplicates": [match.to_dict() for match in self.duplicates],
        }


def check_sie_file(
    source: Source, booked: Iterable[BookedVoucher], org_number: str | None = None
) -> ImportCheck:
    """Read a SIE file as a stream and check it against the vouchers Dagskassa booked (and, if given, the
    store's organisation number). Raises :class:`SieError` for a file the reader cannot take."""
    counted = 0
    file_org_number = ""

    def vouchers() -> Iterator[SieVoucher]:
        nonlocal counted, file_org_number
        for item in iter_sie(source):
            if isinstance(item, SieVoucher):
                counted += 1
                yield item
            elif isinstance(item, Record) and item.label == "ORGNR" and item.fields:
                file_org_number = str(item.fields[0])

    duplicates = tuple(find_duplicates(vouchers(), booked))
    other = bool(org_number and file_org_number) and _digits(file_org_number) != _digits(org_number or "")
    return ImportCheck(counted, duplicates, file_org_number, other)


def _digits(org_number: str) -> str:
    """The last ten digits: ``16556677-8899``, ``556677-8899`` and ``5566778899`` are the same number."""
    return "".join(char for char in org_number if char.isdigit())[-10:]


def parse_posted(data: object) -> list[BookedVoucher]:
    """The posted vouchers of ``dagskassa sie check --posted``: a JSON list (or ``{"vouchers": [...]}``)
    of objects shaped as ``Voucher.to_dict()`` writes them::

        {"transaction_date": "2026-03-14", "description": "Z 142 Kassa 1 …", "marker": "dk:…",
         "series": "K", "number": "12",
         "rows": [{"account": 1910, "debit": "2927.60", "credit": "0.00"}, …]}

    A row may give a signed ``"amount"`` instead of debit and credit. Every problem is named by its place.
    """
    if isinstance(data, dict) and "vouchers" in data:
        data = data["vouchers"]
    if not isinstance(data, list):
        raise FixData(
            "the posted vouchers must be a JSON list", 'write [{"transaction_date": …, "rows": […]}]'
        )
    return [_posted(item, f"vouchers[{index}]") for index, item in enumerate(data)]


def _posted(item: object, where: str) -> BookedVoucher:
    if not isinstance(item, dict):
        raise FixData(f"{where} must be an object", "see dagskassa sie check --help")
    try:
        when = date.fromisoformat(str(item.get("transaction_date")))
    except ValueError:
        raise FixData(f"{where}.transaction_date is not a date", "write it YYYY-MM-DD") from None
    rows = item.get("rows")
    if not isinstance(rows, list):
        raise FixData(f"{where}.rows must be a list", "list the voucher's rows")
    reference = " ".join(str(item[key]) for key in ("series", "number") if item.get(key) not in (None, ""))
    return BookedVoucher(
        when,
        tuple(_posted_row(row, f"{where}.rows[{index}]") for index, row in enumerate(rows)),
        str(item.get("description") or ""),
        str(item.get("marker") or ""),
        reference,
    )


def _posted_row(row: object, where: str) -> tuple[int, Decimal]:
    if not isinstance(row, dict):
        raise FixData(f"{where} must be an object", 'e.g. {"account": 1910, "debit": "100.00"}')
    account = row.get("account")
    if isinstance(account, bool) or not isinstance(account, (int, str)) or not str(account).isdigit():
        raise FixData(f"{where}.account {account!r} is not an account number", "write it like 1910")
    try:
        if "amount" in row:
            amount = parse_money(row["amount"])
        else:
            amount = parse_money(row.get("debit", "0")) - parse_money(row.get("credit", "0"))
    except MoneyFormatError as exc:
        raise FixData(f"{where}: {exc}", 'write amounts as decimal strings, e.g. "1234.50"') from None
    return int(account), amount
