"""Visma behind the provider seam: registered as "visma", its session has every method of
AccountingSession with the same parameters, and it carries a day through post, find and evidence."""

from __future__ import annotations

import inspect
from datetime import date

import pytest

from exporters.core.errors import FixData
from exporters.core.zreport import Customer, InvoiceSale
from exporters.providers import AccountingSession, get_provider
from exporters.visma.provider import VismaSession


def test_registered_with_its_scopes() -> None:
    provider = get_provider("visma")
    assert provider.identifier == "visma" and "Visma" in provider.verbose_name
    assert set(provider.scopes) >= {"ea:api", "ea:accounting", "offline_access"}
    assert provider.extras["invoicing"] is False and callable(provider.extras["make_oauth"])


@pytest.mark.parametrize("name", [n for n in vars(AccountingSession) if not n.startswith("_")])
def test_the_session_has_the_protocols_methods(name: str) -> None:
    wanted = inspect.signature(getattr(AccountingSession, name))
    have = inspect.signature(getattr(VismaSession, name))
    assert list(have.parameters)[: len(wanted.parameters)] == list(wanted.parameters)


def test_a_day_posted_found_and_shown_as_evidence(session: VismaSession, voucher) -> None:
    day = date(2026, 3, 14)
    assert session.find_voucher(voucher.marker, day) is None and session.vouchers_on(day) == []
    posted = session.post_voucher(voucher)
    assert session.find_voucher(voucher.marker, day) == posted
    evidence = session.vouchers_on(day)
    assert evidence == [posted]
    assert sum(debit for _, debit, _ in evidence[0].rows) == voucher.total_debit
    assert session.voucher_series(day)[0].code == "A"


def test_invoicing_is_refused_with_a_fix(session: VismaSession) -> None:
    sale = InvoiceSale("881", Customer("Kund AB"), ())
    with pytest.raises(FixData, match="cannot invoice through Visma") as caught:
        session.post_invoice(sale, "dk:x", as_order=False, allow_tip=False)
    assert "turn off 'Invoice'" in caught.value.fix
    assert session.find_invoice("dk:x", date(2026, 3, 14)) is None
