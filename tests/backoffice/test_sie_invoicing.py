"""A SIE file cannot make invoices: the sales paid on invoice go into its voucher (on the account mapped
for the payment method "invoice"), even when the store invoices through Fortnox for the days the
integration posts. Otherwise a day booked through a SIE file would leave those sales out of the books."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import MappingEntry, Store, User, ZReportRecord
from backoffice.services.sie_files import export_sie
from exporters.sie import read_sie
from tests.backoffice.test_pipeline import ingest_day, invoice_day, set_sync


def test_a_sie_file_books_the_sales_paid_on_invoice(engine, world):
    set_sync(engine, world.store_a, invoicing=True, allow_tip_on_invoice=True)
    ingest_day(engine, world.store_a, world.manager_a, invoice_day(1, tip="10.00"))
    with Session(engine) as db:
        db.add(MappingEntry(store_id=world.store_a, kind="payment_methods", key="invoice", account=1510))
        store = db.get(Store, world.store_a)
        manager = db.scalars(select(User).where(User.email == world.manager_a)).one()
        day = db.scalars(select(ZReportRecord.business_date)).one()
        content, days = export_sie(db, store, manager, [day], generated=date(2026, 4, 1))
        db.commit()
    assert days == [day]
    (voucher,) = read_sie(content).vouchers
    amounts = {row.account: row.amount for row in voucher.rows}
    assert amounts[1510] == Decimal("122.00")  # the lunch on invoice, 112,00, and its 10,00 tip
    assert amounts[3002] == Decimal("-900.00")  # Mat 12 %: the invoiced lunch among the day's sales
    assert voucher.total == 0
