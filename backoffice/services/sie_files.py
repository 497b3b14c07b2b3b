"""SIE files for a store (DESIGN.md section 7): the SIE export channel, its days claimed for ``sie``
(layer 1), and the check of a SIE file the store is about to import against the days Dagskassa posted
(layer 3). Like every service these never commit; the view or command that calls them does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import Export, Store, User, ZReportRecord
from backoffice.pipeline import states
from backoffice.services.day_claims import SIE, claim_days
from backoffice.services.exports import build_options, load_z_report
from backoffice.services.mapping import settings_of, store_mapping
from exporters.core import Voucher, build_voucher
from exporters.core.errors import FixData
from exporters.sie.export import export_days
from exporters.sie.guard import BookedVoucher, ImportCheck, check_sie_file
from exporters.sie.writer import Company

#: The longest range of days one SIE file may hold (a year and a day: a whole fiscal year, leap or not).
MAX_DAYS = 366


def day_range(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included; refused when backwards or over a year."""
    if end < start:
        raise FixData(
            f"the range ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            "choose a start date on or before the end date",
        )
    count = (end - start).days + 1
    if count > MAX_DAYS:
        raise FixData(f"{count} days is more than one SIE file holds", f"choose at most {MAX_DAYS} days")
    return [start + timedelta(days=offset) for offset in range(count)]


def export_sie(
    session: Session,
    store: Store,
    actor: User | None,
    days: Iterable[date],
    *,
    generated: date,
    checksum: bool = False,
) -> tuple[bytes, list[date]]:
    """The SIE 4I file of the store's Z-reports on ``days`` (days without one are skipped), and the days
    it holds, claimed for the SIE channel.

    Raises :class:`DaysClaimed` listing the days already posted through an API (nothing is claimed then),
    and :class:`FixData` when none of the days has a Z-report or a voucher cannot be built."""
    wanted = sorted(set(days))
    records = session.scalars(
        select(ZReportRecord)
        .where(ZReportRecord.store_id == store.id, ZReportRecord.business_date.in_(wanted))
        .order_by(ZReportRecord.business_date, ZReportRecord.register_id, ZReportRecord.z_number)
    ).all()
    if not records:
        listed = f"{wanted[0].isoformat()} to {wanted[-1].isoformat()}" if wanted else "the days chosen"
        raise FixData(f"there is no Z-report from {listed}", "choose days the registers have sent")
    sync = settings_of(session, store, create=False)
    mapping = store_mapping(session, store, sync)
    # A SIE file makes no invoices: the sales paid on invoice stay in the day's voucher (on the account
    # mapped for "invoice"), whatever the integration does with them for the days it posts.
    options = replace(build_options(sync), invoicing=False)
    vouchers: list[Voucher] = []
    company_name = ""
    for record in records:
        z_report = load_z_report(record)
        company_name = company_name or (z_report.company_name or "")
        try:
            vouchers.append(build_voucher(z_report, mapping, options))
        except FixData as exc:
            raise FixData(
                f"{record.business_date.isoformat()} Z {record.z_number}: {exc.message}", exc.fix
            ) from None
    present = sorted({record.business_date for record in records})
    claim_days(session, store.id, present, SIE, f"SIE file by {actor.email if actor else 'system'}")
    content = export_days(
        vouchers,
        present,
        Company(company_name or store.name, store.org_number),
        generated=generated,
        checksum=checksum,
    )
    audit.record(
        session,
        actor,
        "sie.exported",
        store,
        subject=f"{present[0].isoformat()} – {present[-1].isoformat()}",
        days=[day.isoformat() for day in present],
        vouchers=len(vouchers),
    )
    return content, present


def booked_vouchers(session: Session, store: Store) -> list[BookedVoucher]:
    """The vouchers Dagskassa posted for the store through an API, as they stand in the books (a
    correction's voucher replaces the one it reversed), each with its reference there (e.g. ``K 142``)."""
    rows = session.execute(
        select(Export.posted_json, Export.external_ref).where(
            Export.store_id == store.id,
            Export.state == states.POSTED,
            Export.channel != SIE,
            Export.posted_json.is_not(None),
        )
    ).all()
    return [BookedVoucher.from_voucher(Voucher.from_dict(data), ref or "") for data, ref in rows]


def check_sie_upload(session: Session, store: Store, stream: IO[bytes]) -> ImportCheck:
    """Layer 3: each #VER of the file (read as a stream) that books a day Dagskassa already posted.
    Raises :class:`SieError` with the line number for a file the reader cannot take."""
    return check_sie_file(stream, booked_vouchers(session, store), store.org_number)
