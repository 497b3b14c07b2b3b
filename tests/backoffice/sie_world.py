"""SIE test data: a day posted through the API as the pipeline records it, and SIE files of vouchers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import Export
from backoffice.pipeline import states
from backoffice.services.day_claims import claim_days
from backoffice.services.exports import preview
from exporters.core.voucher import Voucher
from exporters.sie.writer import Company, write_sie_4i
from tests.backoffice.factories import ORG_A


def post_day(engine, export_date: date, ref: str) -> Voucher:
    """Mark the export of ``export_date`` posted through the API as the pipeline does, keeping the voucher."""
    with Session(engine) as db:
        export = db.scalars(select(Export).where(Export.business_date == export_date)).one()
        voucher, error = preview(db, export.store, export.z_report)
        assert error is None
        claim_days(db, export.store_id, [export_date], "fortnox")
        states.move(db, export, states.POSTED, now=datetime.now(UTC))
        export.external_ref, export.posted_json = ref, voucher.to_dict()
        db.commit()
        return voucher


def sie_file(vouchers: list[Voucher], org: str = ORG_A) -> bytes:
    return write_sie_4i(vouchers, Company("Testkrogen AB", org), {}, generated=date(2026, 4, 1))
