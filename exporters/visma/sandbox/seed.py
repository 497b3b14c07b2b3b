"""The sandbox's seeds (``data/seed.json``): a compact BAS-like chart copied into every fiscal year,
two companies, an OAuth client and users who log in on the consent page.

Seeded logins (documented in README.md, "Visma sandbox"): ``anna@exempelkrogen.se`` / ``anna`` (Exempelkrogen
AB) and ``byran@redovisning.se`` / ``byran`` (both companies). OAuth client ``dagskassa`` /
``dagskassa-secret``.
"""

from __future__ import annotations

import json
from datetime import date
from importlib import resources

from exporters.visma.sandbox.state import (
    Account,
    Company,
    CostCenter,
    CostCenterItem,
    FiscalYear,
    OAuthClient,
    SandboxState,
    User,
    new_id,
)


def load_seed() -> dict:
    return json.loads(
        resources.files("exporters.visma.sandbox").joinpath("data/seed.json").read_text("utf-8")
    )


def add_fiscal_year(company: Company, start: date, end: date, chart: list[list]) -> FiscalYear:
    """A fiscal year with its own copy of ``chart`` ([number, name, VAT code, cost center allowed])."""
    year = FiscalYear(new_id(), start, end)
    company.fiscal_years[year.id] = year
    for number, name, vat_code, cost_center_allowed in chart:
        company.accounts[(year.id, number)] = Account(
            number, name, year.id, vat_code=vat_code, is_cost_center_allowed=cost_center_allowed
        )
    return year


def seeded_state(seed: int = 0) -> SandboxState:
    """A fresh sandbox with the documented seeds."""
    data = load_seed()
    state = SandboxState(seed)
    for client in data["clients"]:
        state.clients[client["client_id"]] = OAuthClient(
            client["client_id"], client["client_secret"], tuple(client["redirect_uris"])
        )
    for user in data["users"]:
        state.users[user["email"]] = User(
            user["email"], user["password"], user["name"], tuple(user["companies"])
        )
    for entry in data["companies"]:
        locked = entry.get("accounting_locked_to")
        company = Company(
            entry["key"],
            entry["name"],
            entry["org_number"],
            accounting_locked_to=date.fromisoformat(locked) if locked else None,
        )
        for start, end in entry["fiscal_years"]:
            add_fiscal_year(company, date.fromisoformat(start), date.fromisoformat(end), data["chart"])
        for number, center in enumerate(entry["cost_centers"], start=1):
            cost_center = CostCenter(new_id(), center["name"], number)
            cost_center.items = [
                CostCenterItem(new_id(), cost_center.id, name, short_name, active)
                for short_name, name, active in center["items"]
            ]
            company.cost_centers[cost_center.id] = cost_center
        state.companies[company.key] = company
    return state
