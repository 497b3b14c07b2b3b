"""A simulated cash register: sells a realistic day and closes it with a Z-report over DKL/1.

:func:`sell_day` is the shop (deterministic for a seed); :class:`RegisterClient` is the register's side
of the link (seq numbers, waiting for the ACK, resending on NAK or silence). ``dagskassa register-sim``
runs both on a pseudo-terminal; the tests drive them in-process.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pos_bridge import dkl1

log = logging.getLogger(__name__)
STOCKHOLM = ZoneInfo("Europe/Stockholm")

#: (description, product group, VAT rate %, price incl. VAT in öre)
PRODUCTS = (
    ("Kaffe", "Dryck", 25, 3500),
    ("Läsk 33 cl", "Dryck", 25, 2490),
    ("Tändare", "Tillbehör", 25, 1990),
    ("Kanelbulle", "Bröd", 12, 2900),
    ("Surdegsbröd", "Bröd", 12, 5490),
    ("Smörgås", "Mat", 12, 6500),
    ("Dagens lunch", "Mat", 12, 11900),
    ("Dagens Nyheter", "Tidningar", 6, 4000),
    ("Veckotidning", "Tidningar", 6, 5990),
)
FLOAT_ORE = 200000


@dataclass
class Shop:
    org_number: str = "556677-8899"
    company_name: str = "Hörnkiosken AB"
    register_id: str = "Kassa 1"
    control_unit_id: str = "CU-0001-2345"
    next_receipt: int = 1
    next_z: int = 1
    grand_sales: int = 0
    grand_returns: int = 0

    def hello(self, session: str) -> dict[str, Any]:
        return {
            "type": "hello",
            "session": session,
            "org_number": self.org_number,
            "register_id": self.register_id,
            "control_unit_id": self.control_unit_id,
            "company_name": self.company_name,
            "software": "dagskassa register-sim",
        }


@dataclass
class _Day:
    gross_sales: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    gross_returns: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    payments: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    tips: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rounding: int = 0
    receipts: int = 0
    goods: int = 0
    drawer_openings: int = 1
    returns_count: int = 0
    returns_amount: int = 0


def _split(gross: int, rate: int) -> tuple[int, int]:
    """Net and VAT in öre of a gross amount at ``rate`` percent (VAT = gross - rounded net)."""
    net = (gross * 100 * 2 + (100 + rate)) // (2 * (100 + rate))
    return net, gross - net


def _rows(gross: dict[tuple[str, int], int]) -> list[dict[str, Any]]:
    rows = []
    for (group, rate), amount in sorted(gross.items()):
        net, vat = _split(amount, rate)
        rows.append({"product_group": group, "vat_rate": str(rate), "net": net, "vat": vat})
    return rows


def sell_day(shop: Shop, business_date: date, sales: int, rng: random.Random) -> list[dict[str, Any]]:
    """The messages of one day: a receipt per sale (one of them a return, one with a card tip), then the
    z_report. Cash is rounded to whole kronor (öresavrundning), card and Swish are not."""
    day = _Day()
    messages: list[dict[str, Any]] = []
    opened = datetime.combine(business_date, datetime.min.time(), STOCKHOLM).replace(hour=9)
    clock = opened
    first_receipt = shop.next_receipt
    tip_at = sales // 2
    for index in range(sales):
        clock += timedelta(minutes=rng.randint(1, 5))
        lines = [rng.choice(PRODUCTS) for _ in range(rng.randint(1, 4))]
        total = sum(price for *_, price in lines)
        method = rng.choices(("cash", "card", "swish"), (30, 55, 15))[0]
        tip = 0
        if index == tip_at:
            method, tip = "card", 2000
        paid, rounding = total + tip, 0
        if method == "cash":
            paid = (total + 50) // 100 * 100
            rounding = paid - total
            day.drawer_openings += 1
        for _, group, rate, price in lines:
            day.gross_sales[group, rate] += price
        day.payments[method] += paid
        day.tips[method] += tip
        day.rounding += rounding
        day.receipts += 1
        day.goods += len(lines)
        messages.append(_receipt(shop, clock, "normal", lines, method, paid, tip, rounding))
    returned = rng.choice(PRODUCTS)
    clock += timedelta(minutes=7)
    day.gross_returns[returned[1], returned[2]] += returned[3]
    day.payments["card"] -= returned[3]
    day.returns_count, day.returns_amount = 1, returned[3]
    day.receipts += 1
    messages.append(_receipt(shop, clock, "return", [returned], "card", -returned[3], 0, 0))

    closed = clock + timedelta(minutes=20)
    gross_sales = sum(day.gross_sales.values())
    shop.grand_sales += gross_sales
    shop.grand_returns += day.returns_amount
    expected_cash = FLOAT_ORE + day.payments["cash"]
    messages.append(
        {
            "type": "z_report",
            "z_number": shop.next_z,
            "business_date": business_date.isoformat(),
            "opened_at": opened.isoformat(),
            "closed_at": closed.isoformat(),
            "generated_at": (closed + timedelta(seconds=12)).isoformat(),
            "sales": _rows(day.gross_sales),
            "returns": _rows(day.gross_returns),
            "payments": [{"method": m, "amount": a} for m, a in sorted(day.payments.items()) if a],
            "tips": [{"method": m, "amount": a} for m, a in sorted(day.tips.items()) if a],
            "rounding": day.rounding,
            "float": FLOAT_ORE,
            "cash_count": {"expected": expected_cash, "counted": expected_cash - 1000},
            "counts": {
                "receipts": day.receipts,
                "drawer_openings": day.drawer_openings,
                "goods_sold": day.goods,
                "services_sold": 0,
            },
            "returns_total": {"count": day.returns_count, "amount": day.returns_amount},
            "discounts_total": {"count": 0, "amount": 0},
            "other_reductions": {"count": 0, "amount": 0},
            "unfinished_sales": {"count": 0, "amount": 0},
            "copies": {"count": 0, "amount": 0},
            "training": {"count": 0, "amount": 0},
            "proforma": {"count": 0, "amount": 0},
            "grand_totals": {
                "sales": shop.grand_sales,
                "returns": shop.grand_returns,
                "net": shop.grand_sales - shop.grand_returns,
            },
            "first_receipt_number": first_receipt,
            "last_receipt_number": shop.next_receipt - 1,
        }
    )
    shop.next_z += 1
    return messages


def _receipt(shop, when, kind, lines, method, paid, tip, rounding) -> dict[str, Any]:
    number = shop.next_receipt
    shop.next_receipt += 1
    vat: dict[int, int] = defaultdict(int)
    for _, _, rate, price in lines:
        vat[rate] += _split(price, rate)[1]
    sign = -1 if kind == "return" else 1
    return {
        "type": "receipt",
        "receipt_number": number,
        "time": when.isoformat(),
        "kind": kind,
        "lines": [
            {"description": d, "product_group": g, "vat_rate": str(r), "quantity": 1, "amount": sign * p}
            for d, g, r, p in lines
        ],
        "vat": [{"vat_rate": str(r), "amount": sign * a} for r, a in sorted(vat.items())],
        "total": sign * sum(p for *_, p in lines),
        "payments": [{"method": method, "amount": paid}],
        "tip": tip,
        "rounding": rounding,
        "control_code": secrets.token_hex(8).upper(),
    }


class Port(Protocol):
    def read(self, size: int = 1) -> bytes: ...
    def write(self, data: bytes) -> int | None: ...


class RegisterClient:
    """The register's side of DKL/1: numbers each message, waits for its ACK, resends on NAK or silence."""

    def __init__(self, port: Port, ack_timeout: float = 2.0, session: str | None = None) -> None:
        self.port = port
        self.ack_timeout = ack_timeout
        self.session = session or secrets.token_hex(6)
        self.seq = 0
        self.hello: dict[str, Any] | None = None
        self._buffer = b""
        self.naks: list[dict[str, Any]] = []

    def frame(self, message: dict[str, Any]) -> dict[str, Any]:
        """Give the message its envelope (v, next seq)."""
        self.seq += 1
        return {"v": dkl1.VERSION, "seq": self.seq, **message}

    def send(self, message: dict[str, Any], attempts: int = 1000) -> dict[str, Any]:
        """Send one message (enveloped here unless it has a seq) until it is ACKed; return the ACK."""
        framed = message if "seq" in message else self.frame(message)
        if framed["type"] == "hello":
            self.hello = framed
        for _ in range(attempts):
            self.port.write(dkl1.encode_frame(framed))
            reply = self.reply(framed["seq"])
            if reply is None:
                continue
            if reply["type"] == "ack":
                return reply
            self.naks.append(reply)
            if reply.get("reason") == "hello_first" and self.hello is not None:
                self.send(self.hello)
            elif reply.get("reason") in ("envelope", "seq_reused", "too_long"):
                raise RuntimeError(f"the bridge refuses the frame: {reply}")
        raise TimeoutError(f"no ACK for seq {framed['seq']} after {attempts} attempts")

    def reply(self, seq: int | None) -> dict[str, Any] | None:
        """The bridge's answer to ``seq`` (to anything, for None), or None after ``ack_timeout`` of silence."""
        deadline = time.monotonic() + self.ack_timeout
        while time.monotonic() < deadline:
            while b"\n" in self._buffer:
                line, _, self._buffer = self._buffer.partition(b"\n")
                try:
                    reply = dkl1.decode_line(line)
                except dkl1.FrameError:
                    continue
                if seq is None or reply.get("seq") in (seq, None):
                    return reply
            self._buffer += self.port.read(4096)
        return None
