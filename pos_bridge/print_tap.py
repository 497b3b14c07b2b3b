"""The print-stream adapter, for registers that only print.

It sits on the line between the register and its printer: every byte goes on to the printer at once (and
the printer's status answers back to the register), so the register notices nothing. The stream is cut
into print jobs at each paper cut (or after a pause); every job's raw bytes are kept in the spool, and a
job that a template recognises as a Z-dagrapport becomes a Z-report, pending or rejected like one from
DKL/1.

A template (JSON; ``templates/z_dagrapport.json`` is the built-in one, for the layout ``register-sim
--print`` prints) says how to read one register model's printout::

    encoding         code page of the text until the stream switches with ESC t (cp437, cp850, cp865 ...)
    timezone         the register's time zone, for times printed without an offset
    date_format, datetime_format    strptime formats of the printed dates and times
    title            regex: a job containing a line that matches is a Z-dagrapport
    fields           name -> regex with a group ``value`` (or ``count`` and ``amount``), searched per line
    sections         sales, returns, payments, tips -> {"start": regex, "row": regex with named groups}
    payment_methods  printed name -> payment method key (cash, card, swish ...)
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import serial

from exporters.core import Problem, ZReportInvalid
from pos_bridge.escpos_text import Incomplete, next_token, to_text
from pos_bridge.link import Checkpoint, no_checkpoint
from pos_bridge.printer import PortPrinter, PrinterService
from pos_bridge.spool import Spool, Stored

log = logging.getLogger(__name__)
BUILT_IN = Path(__file__).with_name("templates") / "z_dagrapport.json"

TEXT_FIELDS = ("company_name", "org_number", "register_id", "control_unit_id")
INT_FIELDS = ("z_number",)
COUNT_FIELDS = ("receipts", "drawer_openings", "goods_sold", "services_sold")
MONEY_FIELDS = (
    "rounding",
    "float",
    "cash_expected",
    "cash_counted",
    "grand_sales",
    "grand_returns",
    "grand_net",
)
TIME_FIELDS = ("opened_at", "closed_at", "generated_at")
COUNT_AMOUNT_FIELDS = (
    "returns_total",
    "discounts_total",
    "other_reductions",
    "unfinished_sales",
    "copies",
    "training",
    "proforma",
)
KNOWN_FIELDS = (
    *TEXT_FIELDS,
    *INT_FIELDS,
    *COUNT_FIELDS,
    *MONEY_FIELDS,
    *TIME_FIELDS,
    "business_date",
    *COUNT_AMOUNT_FIELDS,
)
SECTIONS = {
    "sales": ("product_group", "vat_rate", "net", "vat"),
    "returns": ("product_group", "vat_rate", "net", "vat"),
    "payments": ("method", "amount"),
    "tips": ("method", "amount"),
}


class TemplateError(ValueError):
    """A print template that cannot be used; the message names the key and the fix."""


@dataclass(frozen=True)
class Template:
    name: str
    encoding: str
    timezone: ZoneInfo
    date_format: str
    datetime_format: str
    title: re.Pattern
    fields: dict[str, re.Pattern]
    sections: dict[str, tuple[re.Pattern, re.Pattern]]
    payment_methods: dict[str, str]

    def is_z_report(self, text: str) -> bool:
        return any(self.title.search(line) for line in text.splitlines())

    def z_report(self, text: str) -> dict[str, Any]:
        """The section-2 JSON of a recognised printout; ZReportInvalid names every field not read."""
        return _Reading(self, text).z_report()


def load_template(path: str | Path | None = None) -> Template:
    path = Path(path) if path else BUILT_IN
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateError(f"print template {path}: {exc}") from exc

    def compile_(key: str, pattern: Any) -> re.Pattern:
        try:
            return re.compile(pattern, re.MULTILINE)
        except (re.error, TypeError) as exc:
            raise TemplateError(f"print template {path}: {key} is not a regex: {exc}") from exc

    unknown = set(raw.get("fields", {})) - set(KNOWN_FIELDS)
    if unknown:
        raise TemplateError(f"print template {path}: unknown fields {sorted(unknown)}; known: {KNOWN_FIELDS}")
    for required in ("title", "fields", "sections"):
        if required not in raw:
            raise TemplateError(f"print template {path}: {required} is missing")
    return Template(
        name=raw.get("name", path.stem),
        encoding=raw.get("encoding", "cp437"),
        timezone=ZoneInfo(raw.get("timezone", "Europe/Stockholm")),
        date_format=raw.get("date_format", "%Y-%m-%d"),
        datetime_format=raw.get("datetime_format", "%Y-%m-%d %H:%M:%S"),
        title=compile_("title", raw["title"]),
        fields={name: compile_(f"fields.{name}", pattern) for name, pattern in raw["fields"].items()},
        sections={
            name: (
                compile_(f"sections.{name}.start", spec["start"]),
                compile_(f"sections.{name}.row", spec["row"]),
            )
            for name, spec in raw["sections"].items()
        },
        payment_methods=raw.get("payment_methods", {}),
    )


def printed_money(text: str) -> Decimal:
    """``"1 234,50"``, ``"-0,40"`` or ``"1.234,50"`` (as registers print kronor) -> Decimal."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace("kr", "").replace("−", "-")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    return Decimal(cleaned)


class _Reading:
    def __init__(self, template: Template, text: str) -> None:
        self.template = template
        self.text = text
        self.lines = [line.strip() for line in text.splitlines()]
        self.problems: list[Problem] = []

    def fail(self, field: str, message: str) -> None:
        self.problems.append(Problem(field, message, f"fix the print template {self.template.name!r}"))

    def match(self, name: str) -> re.Match | None:
        pattern = self.template.fields.get(name)
        return pattern.search(self.text) if pattern else None

    def value(self, name: str, convert) -> Any:
        found = self.match(name)
        if found is None:
            return None
        try:
            return convert(found.group("value").strip())
        except (ValueError, InvalidOperation, IndexError) as exc:
            self.fail(name, f"printed {found.group(0)!r} cannot be read: {exc}")
            return None

    def local_time(self, text: str) -> str:
        moment = datetime.strptime(text, self.template.datetime_format).replace(tzinfo=self.template.timezone)
        return moment.isoformat()

    def section(self, name: str) -> list[dict[str, str]] | None:
        spec = self.template.sections.get(name)
        if spec is None:
            return None
        start, row = spec
        rows, inside = [], False
        for line in self.lines:
            if not inside:
                inside = bool(start.search(line))
                continue
            found = row.search(line)
            if found is None:
                break
            rows.append(found.groupdict())
        return rows if inside else None

    def z_report(self) -> dict[str, Any]:
        def money(text: str) -> str:
            return str(printed_money(text))

        data: dict[str, Any] = {"schema_version": 1, "currency": "SEK"}
        register = {
            "id": self.value("register_id", str),
            "control_unit_id": self.value("control_unit_id", str),
        }
        data["register"] = register
        for name in ("company_name", "org_number"):
            data[name] = self.value(name, str)
        data["z_number"] = self.value("z_number", int)
        data["business_date"] = self.value(
            "business_date",
            lambda text: datetime.strptime(text, self.template.date_format).date().isoformat(),
        )
        for name in TIME_FIELDS:
            data[name] = self.value(name, self.local_time)
        for name in ("sales", "returns", "payments", "tips"):
            rows = self.section(name)
            if rows is None:
                continue
            data[name] = [self._row(name, index, row) for index, row in enumerate(rows)]
        data["rounding"] = self.value("rounding", money)
        data["float"] = self.value("float", money)
        expected, counted = self.value("cash_expected", money), self.value("cash_counted", money)
        if expected is not None and counted is not None:
            data["cash_count"] = {"expected": expected, "counted": counted}
        counts = {name: self.value(name, int) for name in COUNT_FIELDS}
        data["counts"] = {name: count for name, count in counts.items() if count is not None}
        for name in COUNT_AMOUNT_FIELDS:
            found = self.match(name)
            if found is not None:
                try:
                    data[name] = {"count": int(found.group("count")), "amount": money(found.group("amount"))}
                except (ValueError, InvalidOperation, IndexError) as exc:
                    self.fail(name, f"printed {found.group(0)!r} cannot be read: {exc}")
        grand = [self.value(name, money) for name in ("grand_sales", "grand_returns", "grand_net")]
        if None not in grand:
            data["grand_totals"] = dict(zip(("sales", "returns", "net"), grand, strict=True))
        if self.problems:
            raise ZReportInvalid(self.problems)
        return {key: value for key, value in data.items() if value is not None}

    def _row(self, section: str, index: int, row: dict[str, str]) -> dict[str, str]:
        converted = dict(row)
        try:
            for name in ("net", "vat", "amount"):
                if name in converted:
                    converted[name] = str(printed_money(converted[name]))
        except InvalidOperation:
            self.fail(f"{section}[{index}]", f"amounts in {row} cannot be read")
        if "method" in converted:
            printed = converted["method"].strip()
            converted["method"] = self.template.payment_methods.get(
                printed, printed.lower().replace(" ", "_")
            )
        if "product_group" in converted:
            converted["product_group"] = converted["product_group"].strip()
        return converted


class PrintTap:
    """Between a print-only register and its printer: pass everything through, keep every job, read Z."""

    def __init__(
        self,
        register: serial.SerialBase,
        printer: serial.SerialBase | None,
        spool: Spool,
        template: Template,
        checkpoint: Checkpoint = no_checkpoint,
        idle_seconds: float = 1.0,
        status_timeout: float = 0.3,
    ) -> None:
        self.register = register
        self.printer = printer
        self.spool = spool
        self.template = template
        self.checkpoint = checkpoint
        self.idle_seconds = idle_seconds
        self.job = b""
        self._scanned = 0
        self._codec = template.encoding
        self.slips = PrinterService(PortPrinter(printer, status_timeout), spool) if printer else None

    def feed(self, data: bytes) -> list[Stored]:
        """Bytes from the register: on to the printer, then into the current job; each cut ends a job."""
        if self.printer is not None:
            self.printer.write(data)
        self.job += data
        finished = []
        while self._scanned < len(self.job):
            try:
                token, self._scanned, self._codec = next_token(self.job, self._scanned, self._codec)
            except Incomplete:
                break
            if token.kind == "cut":
                finished.append(self.end_job(self.job[: self._scanned]))
                self.job, self._scanned = self.job[self._scanned :], 0
        return finished

    def flush(self) -> Stored | None:
        """End the current job without a cut (the register paused)."""
        if not self.job.strip(b"\x00\r\n "):
            self.job, self._scanned = b"", 0
            return None
        stored = self.end_job(self.job)
        self.job, self._scanned = b"", 0
        return stored

    def end_job(self, raw: bytes) -> Stored:
        text = to_text(raw, self.template.encoding)
        is_z = self.template.is_z_report(text)
        stored = self.spool.store_print_job(raw, text, self.template.z_report if is_z else None)
        if is_z:
            self.checkpoint("stored:print_job")
            if stored.problems:
                log.error(
                    "Z-dagrapport printout kept but not readable: %s",
                    "; ".join(str(p) for p in stored.problems),
                )
            else:
                log.info("Z-dagrapport read from the print stream, queued for the BackOffice")
        return stored

    def serve(self, stop: threading.Event) -> None:
        last_byte = time.monotonic()
        while not stop.is_set():
            data = self.register.read(max(1, self.register.in_waiting))
            if data:
                self.feed(data)
                last_byte = time.monotonic()
            if self.printer is not None and self.printer.in_waiting:
                self.register.write(self.printer.read(self.printer.in_waiting))
            if not data and time.monotonic() - last_byte > self.idle_seconds:
                self.flush()
                if self.slips is not None:
                    self.slips.work_once()
                last_byte = time.monotonic()
