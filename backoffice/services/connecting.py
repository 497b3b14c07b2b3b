"""The end of a Connect, for either accounting system: after the consent page sent the browser back, the
tokens are traded for (:func:`backoffice.services.fortnox.finish_connect`) and the system's chart, series
and cost centers read (``fetch_data``), both outside any transaction; :func:`after_connect` then writes
what came back in one, and for a switch applies the start date
(:func:`backoffice.services.switching.apply_switch`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import OAuthAttempt, Store, User
from backoffice.services.fortnox import FortnoxData, connection_row, save_data
from backoffice.services.switching import SwitchOutcome, apply_switch


@dataclass(frozen=True)
class Connected:
    """A finished Connect: the system, the company, and what a switch changed (None when no switch)."""

    provider: str
    company_name: str
    switch: SwitchOutcome | None


def after_connect(
    session: Session,
    store: Store,
    user: User,
    attempt: OAuthAttempt,
    previous_provider: str,
    company: dict[str, str],
    data: FortnoxData | None,
) -> Connected:
    """Record the connected company and its imported data (None when the import failed: it can be run
    again); for a switch (the attempt carries the start date) move the store's days and check its mapping
    against the new chart. Never commits."""
    connection = connection_row(session, store)
    connection.tenant_id, connection.company_name = company["tenant_id"], company["company_name"]
    connection.company_org_number, connection.connected_by_id = company["org_number"], user.id
    if data is not None:
        save_data(session, store, user, data)
    switch = None
    if attempt.start_date is not None and previous_provider != attempt.provider:
        switch = apply_switch(session, store, user, previous_provider, attempt.provider, attempt.start_date)
    audit.record(
        session,
        user,
        f"{attempt.provider}.connected",
        store,
        company["company_name"],
        tenant=company["tenant_id"],
    )
    return Connected(attempt.provider, company["company_name"], switch)
