"""The sandbox's seeds: an OAuth client, tenants with the BAS chart, two financial years, voucher series,
cost centers, a locked period, customers, and users who can log in on the consent page.

The values are listed in the package docstring (``exporters.fortnox.sandbox``) and in the README.
"""

from __future__ import annotations

import json
from datetime import date
from importlib import resources

from exporters.fortnox.sandbox.books import Account, CostCenter, Tenant, VoucherSeries
from exporters.fortnox.sandbox.state import OAuthClient, SandboxState, User

CLIENT_ID = "dagskassa-sandbox"
CLIENT_SECRET = "sandbox-secret"
#: A second client that may ask only for a few scopes and has no service accounts.
LIMITED_CLIENT_ID = "limited-sandbox"
LIMITED_CLIENT_SECRET = "limited-secret"
LIMITED_CLIENT_SCOPES = frozenset({"companyinformation", "bookkeeping", "settings", "costcenter"})

#: Voucher series of every financial year: K is manual (the product posts there), A and B are not.
SERIES = (
    VoucherSeries("A", "Redovisning (automatisk)", manual=False),
    VoucherSeries("B", "Kundfakturor", manual=False),
    VoucherSeries("K", "Kassa", manual=True),
)

#: VAT codes Fortnox shows on the revenue accounts.
VAT_CODES = {3001: "MP1", 3002: "MP2", 3003: "MP3", 3004: "MF"}

TENANTS = (
    # database number, company, organisation number, city, cost centers (code, description, active)
    (
        100001,
        "Exempelkrogen AB",
        "556677-8899",
        "Göteborg",
        (("REST1", "Restaurangen", True), ("BAR1", "Baren", True), ("GAMMAL", "Gamla kiosken", False)),
    ),
    (100002, "Salong Björk AB", "559012-3456", "Umeå", (("BUT1", "Butiken", True),)),
    (100003, "Kedjan Väst AB", "556123-4567", "Borås", (("BUT1", "Butik Borås", True),)),
)

USERS = (
    User("anna@exempelkrogen.se", "anna-sandbox", "Anna Ek", (100001,), sys_admin=True),
    User("kim@exempelkrogen.se", "kim-sandbox", "Kim Lind", (100001,), sys_admin=False),
    User("bo@salongbjork.se", "bo-sandbox", "Bo Björk", (100002,), sys_admin=True),
    User("byra@redovisning.se", "byra-sandbox", "Byrån Redovisning", (100001, 100002, 100003)),
)


def bas_accounts() -> list[tuple[int, str]]:
    """The BAS 2025 accounts the sandbox seeds every chart with (``data/bas_accounts.json``)."""
    text = resources.files("exporters.fortnox.sandbox").joinpath("data/bas_accounts.json").read_text("utf-8")
    return [(int(number), description) for number, description in json.loads(text)]


def seed_tenant(
    state: SandboxState,
    database_number: int,
    company_name: str,
    organization_number: str,
    *,
    city: str = "Stockholm",
    cost_centers: tuple[tuple[str, str, bool], ...] = (("BUT1", "Butiken", True),),
    today: date | None = None,
) -> Tenant:
    """Add a company with the BAS chart, last year and this year (calendar years), series A, B and K in
    both, its cost centers, project P1, last year locked, and two customers."""
    today = today or state.clock.today()
    tenant = Tenant(
        database_number,
        company={
            "CompanyName": company_name,
            "OrganizationNumber": organization_number,
            "Address": "Storgatan 1",
            "City": city,
            "ZipCode": "411 01",
            "CountryCode": "SE",
            "DatabaseNumber": database_number,
            "Email": f"info@{database_number}.sandbox.example",
            "Phone1": "031-12 34 56",
        },
    )
    for number, description in bas_accounts():
        tenant.accounts[number] = Account(number, description, vat_code=VAT_CODES.get(number, ""))
    for year in (today.year - 1, today.year):
        tenant.add_financial_year(date(year, 1, 1), date(year, 12, 31), list(SERIES))
    tenant.locked_until = date(today.year - 1, 12, 31)
    for code, description, active in cost_centers:
        tenant.cost_centers[code] = CostCenter(code, description, active)
    tenant.projects["P1"] = True
    for number, name, org in (
        ("1", "Lunchklubben AB", "556000-0001"),
        ("2", "Företagsfesten HB", "969000-0002"),
    ):
        tenant.customers[number] = customer_record(number, {"Name": name, "OrganisationNumber": org})
    state.tenants[database_number] = tenant
    return tenant


def customer_record(number: str, fields: dict) -> dict:
    """A customer as Fortnox stores it: the defaults of a new customer, then the given fields."""
    record = {
        "Active": True,
        "Address1": None,
        "Address2": None,
        "City": None,
        "Comments": None,
        "CostCenter": None,
        "CountryCode": None,
        "Currency": "SEK",
        "CustomerNumber": number,
        "Email": "",
        "Name": "",
        "OrganisationNumber": "",
        "OurReference": "",
        "Phone1": None,
        "PriceList": "A",
        "Project": "",
        "TermsOfPayment": "30",
        "Type": "COMPANY",
        "VATType": "SEVAT",
        "YourReference": "",
        "ZipCode": None,
    }
    record.update(fields)
    record["CustomerNumber"] = number
    return record


def seeded_state(seed: int = 0) -> SandboxState:
    """A sandbox with the documented seeds: clients, three tenants, four users."""
    state = SandboxState(seed=seed)
    state.clients[CLIENT_ID] = OAuthClient(CLIENT_ID, CLIENT_SECRET)
    state.clients[LIMITED_CLIENT_ID] = OAuthClient(
        LIMITED_CLIENT_ID, LIMITED_CLIENT_SECRET, scopes=LIMITED_CLIENT_SCOPES, service_accounts=False
    )
    for database_number, name, org, city, cost_centers in TENANTS:
        seed_tenant(state, database_number, name, org, city=city, cost_centers=cost_centers)
    for index, user in enumerate(USERS, start=1):
        state.users[user.email] = User(
            user.email, user.password, user.name, user.tenants, user.sys_admin, id=f"user-{index}"
        )
    return state
