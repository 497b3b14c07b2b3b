"""The SIE export channel: the vouchers of chosen days as one SIE 4I file, for stores that import files
instead of connecting their accounting system. A day already posted through the API is refused
(guard layer 1), and a chosen day without a voucher is an error rather than a silent gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from exporters.core.errors import FixData
from exporters.core.voucher import Voucher
from exporters.sie.guard import check_sie_export
from exporters.sie.writer import Company, write_sie_4i

#: Names for the #KONTO records of the accounts in Dagskassa's BAS defaults (BAS 2025).
BAS_ACCOUNT_NAMES = {
    1510: "Kundfordringar",
    1580: "Fordringar för kontokort och kuponger",
    1910: "Kassa",
    1930: "Företagskonto/checkkonto/affärskonto",
    2421: "Ej inlösta presentkort",
    2611: "Utgående moms på försäljning inom Sverige, 25 %",
    2621: "Utgående moms på försäljning inom Sverige, 12 %",
    2631: "Utgående moms på försäljning inom Sverige, 6 %",
    2890: "Övriga kortfristiga skulder",
    3001: "Försäljning inom Sverige, 25 % moms",
    3002: "Försäljning inom Sverige, 12 % moms",
    3003: "Försäljning inom Sverige, 6 % moms",
    3004: "Försäljning inom Sverige, momsfri",
    3740: "Öres- och kronutjämning",
    6990: "Övriga externa kostnader",
}


def export_days(
    vouchers: Iterable[Voucher],
    days: Iterable[date],
    company: Company,
    *,
    generated: date,
    posted_via_api: Iterable[date] = (),
    accounts: Mapping[int, str] = BAS_ACCOUNT_NAMES,
    checksum: bool = False,
) -> bytes:
    """The SIE 4I file holding the vouchers of ``days`` (out of ``vouchers``).

    Raises :class:`ChannelConflict` listing the days already posted through the API, and
    :class:`FixData` listing chosen days that have no voucher."""
    wanted = set(days)
    if not wanted:
        raise FixData("no days were chosen for the SIE file", "choose at least one day")
    check_sie_export(wanted, posted_via_api)
    chosen = [voucher for voucher in vouchers if voucher.transaction_date in wanted]
    missing = wanted - {voucher.transaction_date for voucher in chosen}
    if missing:
        listed = ", ".join(day.isoformat() for day in sorted(missing))
        raise FixData(f"no voucher for these days: {listed}", "send their Z-reports first, or leave them out")
    return write_sie_4i(chosen, company, accounts, generated=generated, checksum=checksum)
