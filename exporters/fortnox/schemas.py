"""JSON Schemas of the bodies the client sends, from the definitions the project derives from Fortnox's
published OpenAPI spec (``sandbox/data/schemas.json``, shared with the sandbox so both sides read the
same field names, types and lengths).

:func:`check_request` validates a body as it goes on the wire; the tests run it on every request the
client makes. It needs ``jsonschema`` (a test dependency), imported when called.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from exporters.fortnox.sandbox.schemas import schema_document

#: The envelope key of each request body and the definition of what it wraps.
REQUEST_DEFINITIONS = {
    "Voucher": "Voucher",
    "Customer": "Customer",
    "Invoice": "InvoicePayload",
    "Order": "Order",
    "VoucherFileConnection": "VoucherFileConnection",
}


def request_schema(envelope: str) -> dict[str, Any]:
    """A JSON Schema (2020-12) for a request body ``{envelope: {...}}``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": schema_document()["$defs"],
        "type": "object",
        "properties": {envelope: {"$ref": f"#/$defs/{REQUEST_DEFINITIONS[envelope]}"}},
        "required": [envelope],
        "additionalProperties": False,
    }


def response_schema(definition: str, envelope: str) -> dict[str, Any]:
    """A JSON Schema for an answer ``{envelope: <definition>}`` (reading, so read-only fields allowed)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": schema_document()["$defs"],
        "type": "object",
        "properties": {envelope: {"$ref": f"#/$defs/{definition}"}},
        "required": [envelope],
    }


def check_request(body: bytes | str | Mapping[str, Any]) -> str:
    """Validate a request body against Fortnox's schema; return its envelope name.

    Raises ``jsonschema.ValidationError`` for a wrong field, type or length, and ``ValueError`` for a
    body that is not one known envelope or sets a field Fortnox treats as read-only.
    """
    import jsonschema

    data = json.loads(body) if isinstance(body, bytes | str) else body
    if not isinstance(data, Mapping) or len(data) != 1 or next(iter(data)) not in REQUEST_DEFINITIONS:
        raise ValueError(
            f"not a known request envelope: {list(data) if isinstance(data, Mapping) else data!r}"
        )
    envelope = next(iter(data))
    schema = request_schema(envelope)
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(data)
    read_only = list(_read_only_fields(data[envelope], REQUEST_DEFINITIONS[envelope], envelope))
    if read_only:
        raise ValueError(f"the body sets read-only fields: {', '.join(read_only)}")
    return envelope


def _read_only_fields(value: Any, definition: str, path: str) -> Iterator[str]:
    properties = schema_document()["$defs"][definition]["properties"]
    for name, item in value.items():
        spec = properties.get(name, {})
        if spec.get("readOnly"):
            yield f"{path}.{name}"
        ref = spec.get("$ref") or spec.get("items", {}).get("$ref")
        if ref:
            child = ref.rsplit("/", 1)[1]
            for index, element in enumerate(item if isinstance(item, list) else [item]):
                if isinstance(element, Mapping):
                    yield from _read_only_fields(element, child, f"{path}.{name}[{index}]")
