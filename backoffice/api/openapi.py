"""The OpenAPI 3.0 document of the register API: what the POS bridge codes against, and what the
fuzz test generates requests from."""

from __future__ import annotations

from functools import cache
from typing import Any

MONEY = {"type": "string", "pattern": r"^-?\d{1,12}(\.\d{1,2})?$", "example": "1234.50"}
POSITIVE_MONEY = {**MONEY, "pattern": r"^\d{1,12}(\.\d{1,2})?$"}
VAT_RATE = {"type": "string", "enum": ["25", "12", "6", "0"]}
COUNT_AMOUNT = {
    "type": "object",
    "required": ["count", "amount"],
    "properties": {"count": {"type": "integer", "minimum": 0}, "amount": POSITIVE_MONEY},
}
SALES_ROW = {
    "type": "object",
    "required": ["product_group", "vat_rate", "net", "vat"],
    "properties": {
        "product_group": {"type": "string", "minLength": 1},
        "vat_rate": VAT_RATE,
        "net": POSITIVE_MONEY,
        "vat": POSITIVE_MONEY,
    },
}
PAYMENT = {
    "type": "object",
    "required": ["method", "amount"],
    "properties": {
        "method": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,39}$"},
        "amount": POSITIVE_MONEY,
    },
}
ERRORS = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "fix"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "fix": {"type": "string"},
                },
            },
        }
    },
}
Z_REPORT = {
    "type": "object",
    "description": "DESIGN.md section 2. Amounts are decimal strings; sum(payments) must equal gross sales"
    " - gross returns + tips + rounding.",
    "required": [
        "register",
        "org_number",
        "z_number",
        "business_date",
        "opened_at",
        "closed_at",
        "currency",
        "sales",
        "payments",
    ],
    "properties": {
        "schema_version": {"type": "integer", "enum": [1]},
        "register": {
            "type": "object",
            "required": ["id", "control_unit_id"],
            "properties": {"id": {"type": "string"}, "control_unit_id": {"type": "string"}},
        },
        "org_number": {"type": "string", "pattern": r"^\d{6}-?\d{4}$", "example": "556677-8899"},
        "z_number": {"type": "integer", "minimum": 1, "maximum": 2147483647},
        "business_date": {"type": "string", "format": "date"},
        "opened_at": {"type": "string", "format": "date-time"},
        "closed_at": {"type": "string", "format": "date-time"},
        "currency": {"type": "string", "enum": ["SEK"]},
        "sales": {"type": "array", "items": SALES_ROW},
        "returns": {"type": "array", "items": SALES_ROW},
        "payments": {"type": "array", "items": PAYMENT},
        "tips": {"type": "array", "items": PAYMENT},
        "rounding": MONEY,
        "cash_count": {
            "type": "object",
            "required": ["expected", "counted"],
            "properties": {"expected": POSITIVE_MONEY, "counted": POSITIVE_MONEY},
        },
        "company_name": {"type": "string"},
        "generated_at": {"type": "string", "format": "date-time"},
        "float": POSITIVE_MONEY,
        "counts": {
            "type": "object",
            "properties": {
                name: {"type": "integer", "minimum": 0}
                for name in ("receipts", "drawer_openings", "goods_sold", "services_sold")
            },
        },
        **{
            name: COUNT_AMOUNT
            for name in (
                "returns_total",
                "discounts_total",
                "other_reductions",
                "unfinished_sales",
                "copies",
                "training",
                "proforma",
            )
        },
        "grand_totals": {
            "type": "object",
            "required": ["sales", "returns", "net"],
            "properties": {"sales": POSITIVE_MONEY, "returns": POSITIVE_MONEY, "net": MONEY},
        },
        "invoice_sales": {"type": "array", "items": {"type": "object"}},
    },
}


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@cache
def openapi_document() -> dict[str, Any]:
    stored = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Dagskassa register API",
            "version": "1",
            "description": "How a register's bridge enrolls and sends its Z-reports. Every refusal lists"
            " every problem as {field, message, fix}.",
        },
        "paths": {
            "/api/v1/health": {
                "get": {"operationId": "health", "responses": {"200": _response("alive", {"type": "object"})}}
            },
            "/api/v1/enroll": {
                "post": {
                    "operationId": "enroll",
                    "summary": "Trade a one-time enrollment code for a device token",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["code", "register_id", "control_unit_id"],
                                    "properties": {
                                        "code": {"type": "string", "example": "ABCD-EFGH"},
                                        "register_id": {"type": "string", "example": "Kassa 1"},
                                        "control_unit_id": {"type": "string", "example": "CU-0001"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _response(
                            "enrolled; keep the token, it is shown once",
                            {
                                "type": "object",
                                "required": ["device_token", "register_id"],
                                "properties": {
                                    "device_token": {"type": "string"},
                                    "register_id": {"type": "string"},
                                },
                            },
                        ),
                        "422": _response(
                            "refused: the code is unknown, used or expired, or a field is wrong", ERRORS
                        ),
                    },
                }
            },
            "/api/v1/z-reports": {
                "post": {
                    "operationId": "postZReport",
                    "summary": "Send a day's Z-report",
                    "security": [{"deviceToken": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 200, "example": "kassa-1:z:142"},
                            "description": "<device>:z:<z_number>; the (register, z_number) pair is what"
                            " makes a resend idempotent",
                        }
                    ],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": Z_REPORT}}},
                    "responses": {
                        "201": _response(
                            "stored; warnings list a Z number gap or items Skatteverket requires", stored
                        ),
                        "200": _response("the same report was already stored; its id", stored),
                        "401": _response("no valid device token", ERRORS),
                        "409": _response(
                            "this Z number was stored with other content; this one is kept for review", ERRORS
                        ),
                        "413": _response("the body is larger than 1 MiB", ERRORS),
                        "422": _response(
                            "invalid; every problem listed; the body is kept for review", ERRORS
                        ),
                    },
                }
            },
        },
        "components": {"securitySchemes": {"deviceToken": {"type": "http", "scheme": "bearer"}}},
    }
