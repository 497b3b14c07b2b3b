"""JSON for the accounting systems' APIs with money as exact numbers: ``Decimal`` is written from its
digits, never through ``float``, and a ``float`` is refused (money is never a float). Read answers back
with ``json.loads(..., parse_float=Decimal)``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def encode_json(value: Any) -> bytes:
    """JSON with ``Decimal`` written as a number from its exact digits (``json`` would need a float)."""

    def encode(item: Any) -> str:
        if isinstance(item, Decimal):
            return format(item, "f")
        if isinstance(item, Mapping):
            return "{" + ",".join(f"{json.dumps(str(k))}:{encode(v)}" for k, v in item.items()) + "}"
        if isinstance(item, list | tuple):
            return "[" + ",".join(encode(v) for v in item) + "]"
        if isinstance(item, float):
            raise TypeError("money must be Decimal, not float")
        return json.dumps(item, ensure_ascii=False)

    return encode(value).encode("utf-8")
