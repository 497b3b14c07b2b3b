"""DKL/1, the register link (docs/DKL1.md is the specification; this module is its reference code).

A frame is one line: ``<json>*<crc32>\\n`` where ``<json>`` is one JSON object in UTF-8 without a line
break and ``<crc32>`` is the CRC-32 (IEEE 802.3, as zlib and zip) of exactly those bytes, eight lower-case
hex digits. Pure: no I/O, so the bridge, the register simulator and the benchmark share it.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from exporters.core import Problem, ZReportInvalid, from_ore, money_str
from exporters.core.money import MoneyFormatError

VERSION = 1
MAX_FRAME_BYTES = 65536
MESSAGE_TYPES = ("hello", "receipt", "z_report", "ping")
#: NAK reasons, each with what the register should do about it.
NAK_REASONS = {
    "crc": "the CRC-32 does not match the JSON: line noise; send the same frame again",
    "json": "not one JSON object: send the same frame again",
    "too_long": f"the line is longer than {MAX_FRAME_BYTES} bytes: split or shorten the message",
    "envelope": "v, type or seq is missing or wrong: fix the register's frame",
    "hello_first": "no hello has been received yet: send hello, then this frame again",
    "seq_reused": "this seq was already used for a different message: use a new seq",
    "storage": "the bridge could not store the message (disk?): send the same frame again later",
}


class FrameError(ValueError):
    """A line that is not a valid DKL/1 frame; ``reason`` is one of :data:`NAK_REASONS`."""

    def __init__(self, reason: str, detail: str, seq: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.seq = seq


def crc32_hex(data: bytes) -> str:
    return f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"


def encode_frame(message: dict[str, Any]) -> bytes:
    """The frame of one message: compact JSON, ``*``, its CRC-32, LF."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return body + b"*" + crc32_hex(body).encode("ascii") + b"\n"


def decode_frame(line: bytes) -> dict[str, Any]:
    """Check one line from the register (with or without its CR LF): CRC, JSON, envelope; or FrameError."""
    return check_envelope(decode_line(line))


def decode_line(line: bytes) -> dict[str, Any]:
    """The JSON object of a line whose CRC-32 matches (either direction), or FrameError."""
    line = line.rstrip(b"\r\n")
    if len(line) > MAX_FRAME_BYTES:
        raise FrameError("too_long", f"{len(line)} bytes")
    body, star, crc = line.rpartition(b"*")
    if not star or len(crc) != 8:
        raise FrameError("crc", "no *<8 hex digits> at the end of the line")
    if crc.lower() != crc32_hex(body).encode("ascii"):
        raise FrameError("crc", f"got {crc.decode('ascii', 'replace')}, computed {crc32_hex(body)}")
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FrameError("json", str(exc)) from exc
    if not isinstance(message, dict):
        raise FrameError("json", "the JSON is not an object")
    return message


def check_envelope(message: dict[str, Any]) -> dict[str, Any]:
    """Check v, type and seq of a register message (and a hello's identity fields)."""
    seq = message.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= 0xFFFFFFFF:
        raise FrameError("envelope", f"seq must be a whole number 1..4294967295, got {seq!r}")
    if message.get("v") != VERSION:
        raise FrameError("envelope", f"v must be {VERSION}, got {message.get('v')!r}", seq)
    if message.get("type") not in MESSAGE_TYPES:
        raise FrameError(
            "envelope", f"type must be one of {', '.join(MESSAGE_TYPES)}, got {message.get('type')!r}", seq
        )
    if message["type"] == "hello":
        missing = [name for name in ("session", *HELLO_FIELDS) if not _text(message.get(name))]
        if missing:
            raise FrameError("envelope", f"hello needs {', '.join(missing)} as non-empty strings", seq)
    return message


def ack(seq: int, **extra: Any) -> dict[str, Any]:
    return {"v": VERSION, "type": "ack", "seq": seq, **extra}


def nak(error: FrameError) -> dict[str, Any]:
    return {
        "v": VERSION,
        "type": "nak",
        "seq": error.seq,
        "reason": error.reason,
        "detail": error.detail,
    }


HELLO_FIELDS = ("org_number", "register_id", "control_unit_id")


@dataclass(frozen=True)
class Identity:
    """Who is on the other end of the link, from its ``hello``."""

    session: str
    org_number: str
    register_id: str
    control_unit_id: str
    company_name: str | None = None

    @classmethod
    def from_hello(cls, hello: dict[str, Any]) -> Identity:
        return cls(
            session=hello["session"],
            org_number=hello["org_number"],
            register_id=hello["register_id"],
            control_unit_id=hello["control_unit_id"],
            company_name=hello.get("company_name") or None,
        )


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# The z_report message: the section-2 Z-report with amounts in integer öre. Which fields are amounts:
_ROW_AMOUNTS = ("net", "vat")
_COUNT_AMOUNT = (
    "returns_total",
    "discounts_total",
    "other_reductions",
    "unfinished_sales",
    "copies",
    "training",
    "proforma",
)
_PLAIN = (
    "z_number",
    "business_date",
    "opened_at",
    "closed_at",
    "generated_at",
    "currency",
    "company_name",
    "counts",
)


def z_report_json(identity: Identity, message: dict[str, Any]) -> dict[str, Any]:
    """The DESIGN.md section 2 JSON of a ``z_report`` message (öre -> decimal strings).

    Identity comes from the ``hello``; a z_report that names another org number, register or control unit
    is refused. Raises :class:`ZReportInvalid` listing every field that is not integer öre; the result is
    then checked by ``parse_z_report`` like any other Z-report.
    """
    problems: list[Problem] = []

    def ore(value: Any, path: str) -> str | None:
        try:
            return money_str(from_ore(value))
        except MoneyFormatError as exc:
            problems.append(Problem(path, str(exc), "DKL/1 amounts are integer öre, e.g. 123450"))
            return None

    for name, expected in (
        ("org_number", identity.org_number),
        ("register_id", identity.register_id),
        ("control_unit_id", identity.control_unit_id),
    ):
        if name in message and message[name] != expected:
            problems.append(
                Problem(name, f"{message[name]!r} differs from the hello ({expected!r})", "send hello again")
            )
    data: dict[str, Any] = {
        "schema_version": 1,
        "register": {"id": identity.register_id, "control_unit_id": identity.control_unit_id},
        "org_number": identity.org_number,
        "currency": "SEK",
    }
    if identity.company_name:
        data["company_name"] = identity.company_name
    data.update({name: message[name] for name in _PLAIN if name in message})
    for name in ("sales", "returns", "payments", "tips"):
        if name not in message:
            continue
        rows = message[name]
        if not isinstance(rows, list):
            data[name] = rows
            continue
        converted = []
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                converted.append(row)
                continue
            row = dict(row)
            for field in _ROW_AMOUNTS if name in ("sales", "returns") else ("amount",):
                if field in row:
                    row[field] = ore(row[field], f"{name}[{index}].{field}")
            converted.append(row)
        data[name] = converted
    data["rounding"] = ore(message.get("rounding", 0), "rounding")
    if "float" in message:
        data["float"] = ore(message["float"], "float")
    for name, fields in (
        ("cash_count", ("expected", "counted")),
        ("grand_totals", ("sales", "returns", "net")),
    ):
        if isinstance(message.get(name), dict):
            data[name] = {f: ore(message[name].get(f), f"{name}.{f}") for f in fields}
    for name in _COUNT_AMOUNT:
        figure = message.get(name)
        if isinstance(figure, dict):
            data[name] = {"count": figure.get("count"), "amount": ore(figure.get("amount"), f"{name}.amount")}
    if isinstance(message.get("invoice_sales"), list):
        data["invoice_sales"] = [
            _invoice_sale(sale, f"invoice_sales[{i}]", ore) for i, sale in enumerate(message["invoice_sales"])
        ]
    if problems:
        raise ZReportInvalid(problems)
    return data


def _invoice_sale(sale: Any, path: str, ore) -> Any:
    if not isinstance(sale, dict):
        return sale
    sale = dict(sale)
    if "tip" in sale:
        sale["tip"] = ore(sale["tip"], f"{path}.tip")
    lines = []
    for index, line in enumerate(sale.get("lines") or []):
        if isinstance(line, dict):
            line = dict(line)
            for field in _ROW_AMOUNTS:
                if field in line:
                    line[field] = ore(line[field], f"{path}.lines[{index}].{field}")
        lines.append(line)
    sale["lines"] = lines
    return sale
