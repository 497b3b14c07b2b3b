"""Customers (scope ``customer``): list with filters, create, read, delete.

Fortnox's list filters search with LIKE (FACTS.md section 5), so ``?customernumber=1`` also finds
customers 10 and 11, and ``?organisationnumber=556`` every number containing 556: a client must compare
the answers exactly. A deleted customer's number stays taken (2000637).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from exporters.fortnox.sandbox import errors
from exporters.fortnox.sandbox.api import (
    answer,
    bp,
    endpoint,
    paginate,
    read_body,
    url,
)
from exporters.fortnox.sandbox.books import Tenant
from exporters.fortnox.sandbox.errors import invalid, not_found
from exporters.fortnox.sandbox.seed import customer_record

#: Values of the generic ``filter`` parameter each list accepts; anything else is Fortnox's 2000587.
FILTERS = {
    "customers": {"active", "inactive"},
    "invoices": {"cancelled", "fullypaid", "unpaid", "unpaidoverdue", "unbooked"},
    "orders": {"cancelled", "expired", "invoicecreated", "invoicenotcreated"},
}


def check_filter(kind: str) -> str | None:
    value = request.args.get("filter")
    if value is not None and value not in FILTERS[kind]:
        raise invalid(errors.INVALID_FILTER, "Ett ogiltigt filter har använts.")
    return value


def like(value: Any, wanted: str) -> bool:
    return wanted.lower() in str(value or "").lower()


# -- customers -------------------------------------------------------------------------------------------

CUSTOMER_LIST_FIELDS = (
    "Address1",
    "Address2",
    "City",
    "CustomerNumber",
    "Email",
    "Name",
    "OrganisationNumber",
)


def customer_json(customer: dict[str, Any]) -> dict[str, Any]:
    return {"@url": url(f"customers/{customer['CustomerNumber']}"), **customer}


@bp.get("/customers")
@endpoint("customer")
def customers(tenant: Tenant) -> Response:
    wanted = check_filter("customers")
    found = []
    for customer in sorted(tenant.customers.values(), key=lambda c: _number_key(c["CustomerNumber"])):
        if wanted and customer["Active"] != (wanted == "active"):
            continue
        if not all(
            like(customer.get(field), request.args[param])
            for param, field in (
                ("customernumber", "CustomerNumber"),
                ("organisationnumber", "OrganisationNumber"),
                ("name", "Name"),
                ("email", "Email"),
            )
            if param in request.args
        ):
            continue
        item = {field: customer.get(field) for field in CUSTOMER_LIST_FIELDS}
        item.update({"@url": url(f"customers/{customer['CustomerNumber']}"), "Phone": customer.get("Phone1")})
        item["ZipCode"] = customer.get("ZipCode")
        found.append(item)
    return paginate(found, "Customers")


def _number_key(number: str) -> tuple[int, str]:
    return (int(number), "") if number.isdigit() else (10**12, number)


@bp.get("/customers/<number>")
@endpoint("customer")
def customer(tenant: Tenant, number: str) -> Response:
    return answer({"Customer": customer_json(find_customer(tenant, number, 404))})


@bp.post("/customers")
@endpoint("customer")
def create_customer(tenant: Tenant) -> Response:
    fields = read_body("Customer", "Customer")
    number = fields.get("CustomerNumber")
    if number:
        if number in tenant.deleted_customer_numbers:
            raise invalid(errors.CUSTOMER_NUMBER_RESERVED, f"Kundnummer {number} har använts tidigare")
        if number in tenant.customers:
            raise invalid(errors.CUSTOMER_NUMBER_TAKEN, f"Kundnummer {number} används redan")
    else:
        taken = [int(n) for n in (*tenant.customers, *tenant.deleted_customer_numbers) if n.isdigit()]
        number = str(max(taken, default=0) + 1)
    record = customer_record(number, fields)
    tenant.customers[number] = record
    return answer({"Customer": customer_json(record)}, 201, "customers")


@bp.delete("/customers/<number>")
@endpoint("customer")
def delete_customer(tenant: Tenant, number: str) -> Response:
    """Deleted customer numbers stay taken (Fortnox's 2000637)."""
    find_customer(tenant, number, 404)
    del tenant.customers[number]
    tenant.deleted_customer_numbers.add(number)
    return Response(status=204)


def find_customer(tenant: Tenant, number: str, status: int = 400) -> dict[str, Any]:
    found = tenant.customers.get(number)
    if found is None:
        error = not_found if status == 404 else invalid
        raise error(errors.CUSTOMER_NOT_FOUND, "Kan inte hitta kunden.")
    return found
