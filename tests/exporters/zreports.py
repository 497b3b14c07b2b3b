"""Z-reports for tests, in their JSON form. Each builder returns a fresh dict the test may change."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def restaurant_day() -> dict[str, Any]:
    """The shipped example: a restaurant day at 25/12/6/0 %, four payment methods, a return, a card
    tip, öresavrundning and a 10 kr cash shortage (worked through in test_voucher_examples.py)."""
    return json.loads((EXAMPLES / "z-report-restaurant.json").read_text("utf-8"))


def minimal_day(**changes: Any) -> dict[str, Any]:
    """A small valid day: 25 % sales of 1 000,00 + VAT 250,00, paid 1 250,00 by card."""
    data = {
        "register": {"id": "Kassa 1", "control_unit_id": "CU-1"},
        "org_number": "556677-8899",
        "z_number": 7,
        "business_date": "2026-11-20",
        "opened_at": "2026-11-20T09:00:00+01:00",
        "closed_at": "2026-11-20T18:00:00+01:00",
        "currency": "SEK",
        "sales": [{"product_group": "Varor", "vat_rate": "25", "net": "1000.00", "vat": "250.00"}],
        "returns": [],
        "payments": [{"method": "card", "amount": "1250.00"}],
        "tips": [],
        "rounding": "0.00",
    }
    data.update(copy.deepcopy(changes))
    return data
