"""JSON for the accounting systems' APIs with money as exact numbers: ``Decimal`` is written from its
digits, never through ``float``, and a ``float`` is refused (money is never a float). Read answers back
with ``json.loads(..., parse_float=Decimal)``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any


def encode_json(value: Any) -> bytes:
    """JSON with ``Decimal`` written as a number from its exact digits (``json`` would need a float)."""
    return _encode(value).encode("utf-8")


def _encode(item: Any) -> str:
    # Every request body and every sandbox answer goes through here: strings are escaped by json's own C
    # functions (what json.dumps does for them, without building an encoder per value).
    if isinstance(item, str):
        return encode_basestring(item)
    if isinstance(item, Decimal):
        return format(item, "f")
    if isinstance(item, Mapping):
        return (
            "{" + ",".join(f"{encode_basestring_ascii(str(k))}:{_encode(v)}" for k, v in item.items()) + "}"
        )
    if isinstance(item, list | tuple):
        return "[" + ",".join(map(_encode, item)) + "]"
    if item is None or item is True or item is False:
        return _CONSTANTS[item]
    if isinstance(item, float):
        raise TypeError("money must be Decimal, not float")
    if type(item) is int:
        return int.__repr__(item)
    return json.dumps(item, ensure_ascii=False)


_CONSTANTS = {None: "null", True: "true", False: "false"}
