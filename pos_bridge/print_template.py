"""Print templates: how to read one register model's Z-dagrapport printout into a Z-report.

A template is JSON (``templates/z_dagrapport.json`` is the built-in one, for the layout
``register_sim.render_z_dagrapport`` prints)::

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
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from exporters.core import Problem, ZReportInvalid

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
