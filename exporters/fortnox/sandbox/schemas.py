"""Request validation against the schemas derived from Fortnox's published spec (``data/schemas.json``,
made by ``tools/derive_fortnox_sandbox_data.py``): field names, types, lengths, ranges, enumerations.

The file is a JSON Schema document (``$defs``), so tests validate the sandbox's answers with the same
definitions. Here it is applied the way Fortnox does: an unknown field is refused (2001399), a read-only
field is ignored, null means "not given", and the first problem is reported.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from exporters.fortnox.sandbox import errors
from exporters.fortnox.sandbox.errors import invalid


@cache
def schema_document() -> dict[str, Any]:
    """The derived JSON Schema document; ``["$defs"][name]`` is one Fortnox resource."""
    text = resources.files("exporters.fortnox.sandbox").joinpath("data/schemas.json").read_text("utf-8")
    return json.loads(text)


def definition(name: str) -> dict[str, Any]:
    return schema_document()["$defs"][name]


def validate(name: str, data: Any, where: str = "", partial: bool = False) -> dict[str, Any]:
    """Check ``data`` against definition ``name``; return it without read-only and null fields.
    ``partial``: an update (PUT), where required fields may be left out."""
    schema = definition(name)
    if not isinstance(data, dict):
        raise invalid(errors.EMPTY_BODY, f"{where or name}: ett objekt förväntades")
    clean: dict[str, Any] = {}
    properties = schema["properties"]
    for field, value in data.items():
        spec = properties.get(field)
        if spec is None:
            raise invalid(errors.INVALID_FIELD_NAME, f"Ogiltigt fältnamn ({where}{field})")
        if spec.get("readOnly") or value is None:
            continue
        clean[field] = _value(spec, value, f"{where}{field}")
    for field in [] if partial else schema.get("required", []):
        if clean.get(field) in (None, ""):
            raise invalid(errors.REQUIRED_FIELD_MISSING, f"Fältet {where}{field} är obligatoriskt")
    return clean


def _value(spec: dict[str, Any], value: Any, path: str) -> Any:
    if "anyOf" in spec:
        return validate(_ref_name(spec["anyOf"][0]), value, f"{path}.")
    kind = spec["type"][0]
    if kind == "string":
        if not isinstance(value, str):
            raise invalid(errors.NOT_ALPHANUMERIC, f"{path} måste vara en textsträng")
        if len(value) > spec.get("maxLength", len(value)):
            raise invalid(errors.VALUE_OUT_OF_RANGE, f"{path} får vara högst {spec['maxLength']} tecken")
        if len(value) < spec.get("minLength", 0):
            raise invalid(errors.VALUE_OUT_OF_RANGE, f"{path} måste vara minst {spec['minLength']} tecken")
        if spec.get("format") == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                raise invalid(errors.VALUE_OUT_OF_RANGE, f"{path} är inget giltigt datum ({value})") from None
    elif kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise invalid(errors.NOT_NUMERIC, f"{path} måste vara numeriskt")
        if kind == "integer" and value != int(value):
            raise invalid(errors.NOT_NUMERIC, f"{path} måste vara ett heltal")
        if not spec.get("minimum", value) <= value <= spec.get("maximum", value):
            raise invalid(
                errors.VALUE_OUT_OF_RANGE,
                f"{path} måste vara mellan {spec.get('minimum')} och {spec.get('maximum')}",
            )
        value = int(value) if kind == "integer" else Decimal(str(value))
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise invalid(errors.NOT_BOOLEAN, f"{path} måste vara true eller false")
    elif kind == "array":
        if not isinstance(value, list):
            raise invalid(errors.EMPTY_BODY, f"{path} måste vara en lista")
        items = spec.get("items", {})
        if "$ref" in items:
            return [validate(_ref_name(items), item, f"{path}[{i}].") for i, item in enumerate(value)]
        return [_value(items, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if "enum" in spec and value not in spec["enum"]:
        allowed = ", ".join(str(v) for v in spec["enum"] if v is not None)
        raise invalid(errors.VALUE_OUT_OF_RANGE, f"{path} måste vara en av {allowed}")
    return value


def _ref_name(spec: dict[str, Any]) -> str:
    return spec["$ref"].rsplit("/", 1)[1]
