"""The SIE 4I writer: vouchers Dagskassa built, as an import file Fortnox (and the rest) read.

What the file looks like follows the standard's table of mandatory records for 4I and Fortnox's importer
(FACTS.md 1.3-1.5, 1.9): #FLAGGA 0, #PROGRAM, #FORMAT PC8, #GEN, #SIETYP 4, #FNAMN, #ORGNR with a hyphen
after the sixth digit, the accounts used, then each voucher with an empty number (the importing program
numbers it). Fortnox refuses quoted #FLAGGA/#FORMAT/#SIETYP/#ORGNR values and texts over 50 characters,
so those four are never quoted and every text is cut to 50, keeping our origin marker ``[dk:…]`` whole.
Characters are CP437 (PC8) and lines end with CR LF. Optionally the file carries a #KSUMMA.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from exporters.core.errors import FixData
from exporters.core.money import money_str
from exporters.core.voucher import Voucher

#: Fortnox's limit for voucher and row texts in a SIE import.
TEXT_MAX = 50
#: Reserved SIE dimensions (FACTS.md 1.6): the cost center and the project.
COST_CENTER_DIMENSION, PROJECT_DIMENSION = "1", "6"

#: Characters CP437 lacks that store data often has, and what to write instead.
_SUBSTITUTES = str.maketrans(
    {
        "€": "EUR",
        "…": "...",
        "–": "-",
        "—": "-",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "•": "*",
        "×": "x",
        "Ø": "Ö",
        "ø": "ö",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "\u2009": " ",
        "\u202f": " ",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ORG_NUMBER = re.compile(r"(\d{6})-?(\d{4})")


@dataclass(frozen=True)
class Company:
    """Who the file is for: #FNAMN (the legal name) and #ORGNR."""

    name: str
    org_number: str


class Bare(str):
    """A field written without quotes (numbers, dates, and the four values Fortnox wants bare)."""


Field = str | int | tuple[tuple[str, str], ...]


def sie_org_number(org_number: str) -> str:
    """``5566778899`` or ``556677-8899`` to ``556677-8899``, the form the standard asks for."""
    match = _ORG_NUMBER.fullmatch(org_number.strip())
    if match is None:
        raise FixData(
            f"organisation number {org_number!r} is not ten digits",
            "set the company's organisation number, written 556677-8899",
        )
    return f"{match[1]}-{match[2]}"


def pc8_text(text: str, field: str) -> str:
    """``text`` as CP437 can carry it: typographic characters replaced, accents dropped only where
    CP437 has no accented letter, control characters as spaces. Raises :class:`FixData` naming the
    field when a character has no CP437 form at all."""
    text = _CONTROL.sub(" ", text.translate(_SUBSTITUTES))
    try:
        text.encode("cp437")
        return text
    except UnicodeEncodeError:
        pass
    letters = []
    for char in text:
        try:
            char.encode("cp437")
        except UnicodeEncodeError:
            char = unicodedata.normalize("NFKD", char).encode("cp437", "ignore").decode("cp437")
            if not char:
                raise FixData(
                    f"{field} {text!r} has a character SIE files cannot carry",
                    "rename it with letters of the Swedish alphabet (SIE is code page 437)",
                ) from None
        letters.append(char)
    return "".join(letters)


def fit_text(text: str, limit: int = TEXT_MAX, keep: str = "") -> str:
    """``text`` cut to ``limit`` characters as written (see ``_apart``); ``keep`` (a marker at its end)
    is never cut."""
    if len(_apart(text)) <= limit:
        return text
    if keep and text.endswith(keep):
        head = text[: -len(keep)].rstrip()
        return head[: max(limit - len(keep) - 1, 0)].rstrip() + " " + keep
    return text[: limit - 1] if text[limit - 1] == "\\" else text[:limit].rstrip()


class _File:
    """Lines of a SIE file and, while one is open, the running #KSUMMA over their fields."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.crc: int | None = None

    def open_checksum(self) -> None:
        """The opening #KSUMMA: the checksum counts the records after it."""
        self.lines.append("#KSUMMA")
        self.crc = 0

    def record(self, label: str, *fields: Field) -> None:
        written = ["#" + label]
        values = ["#" + label]
        for field in fields:
            if isinstance(field, tuple):
                members = [_apart(member) for pair in field for member in pair]
                written.append("{" + " ".join(_quote(member) for member in members) + "}")
                values += members
            elif isinstance(field, (Bare, int)):
                written.append(str(field))
                values.append(str(field))
            else:
                field = _apart(field)
                written.append(_quote(field))
                values.append(field)
        self.lines.append(" ".join(written))
        if self.crc is not None:
            self.crc = zlib.crc32("".join(values).encode("cp437"), self.crc)

    def brace(self, brace: str) -> None:
        self.lines.append(brace)

    def render(self) -> bytes:
        return ("\r\n".join(self.lines) + "\r\n").encode("cp437")


def _apart(value: str) -> str:
    """Inside a field ``\\"`` is a quote, so a field cannot end in a backslash: a space keeps them apart."""
    return value + " " if value.endswith("\\") else value


def _quote(value: str) -> str:
    return '"' + value.replace('"', '\\"') + '"'


def _date(value: date) -> Bare:
    return Bare(value.strftime("%Y%m%d"))


def write_sie_4i(
    vouchers: Iterable[Voucher],
    company: Company,
    accounts: Mapping[int, str],
    *,
    generated: date,
    program: tuple[str, str] = ("Dagskassa", "1.0"),
    objects: Mapping[tuple[str, str], str] | None = None,
    checksum: bool = False,
) -> bytes:
    """The SIE 4I file of ``vouchers`` (CP437, CR LF), ready to import.

    ``accounts`` names accounts; every account the vouchers use that it names gets a #KONTO record.
    ``objects`` names cost centers (``("1", code)``) and projects (``("6", code)``) for #OBJEKT records.
    ``generated`` is the #GEN date and each voucher's registration date. Raises :class:`FixData` for an
    organisation number that is not one or a text CP437 cannot carry."""
    vouchers = [voucher for voucher in vouchers if not voucher.is_empty]
    out = _File()
    out.record("FLAGGA", Bare("0"))
    if checksum:
        out.open_checksum()
    name, version = program
    out.record("PROGRAM", pc8_text(name, "program name"), Bare(version))
    out.record("FORMAT", Bare("PC8"))
    out.record("GEN", _date(generated))
    out.record("SIETYP", Bare("4"))
    out.record("FNAMN", pc8_text(company.name, "company name"))
    out.record("ORGNR", Bare(sie_org_number(company.org_number)))
    used = sorted({row.account for voucher in vouchers for row in voucher.rows})
    for account in used:
        if account in accounts:
            out.record("KONTO", account, pc8_text(accounts[account], f"account {account} name"))
    for (dimension, code), object_name in sorted((objects or {}).items()):
        out.record("OBJEKT", Bare(dimension), code, pc8_text(object_name, f"object {code} name"))
    for voucher in sorted(vouchers, key=lambda voucher: voucher.transaction_date):
        _voucher(out, voucher, generated)
    if out.crc is not None:
        out.lines.append(f"#KSUMMA {out.crc}")
    return out.render()


def voucher_text(voucher: Voucher) -> str:
    """The #VER text: the voucher's description within Fortnox's 50 characters, marker kept whole."""
    marker = f"[{voucher.marker}]" if voucher.marker else ""
    text = pc8_text(voucher.description, "voucher description")
    if marker and marker not in text:
        text = f"{text} {marker}"
    return fit_text(text, keep=marker)


def _voucher(out: _File, voucher: Voucher, generated: date) -> None:
    series = pc8_text(voucher.series or "", "voucher series")
    out.record("VER", series, "", _date(voucher.transaction_date), voucher_text(voucher), _date(generated))
    out.brace("{")
    for row in voucher.rows:
        objects = []
        if row.cost_center:
            objects.append((COST_CENTER_DIMENSION, pc8_text(row.cost_center, "cost center")))
        if row.project:
            objects.append((PROJECT_DIMENSION, pc8_text(row.project, "project")))
        text = fit_text(pc8_text(row.text, f"row text of account {row.account}"))
        out.record("TRANS", row.account, tuple(objects), Bare(money_str(row.amount)), "", text)
    out.brace("}")
