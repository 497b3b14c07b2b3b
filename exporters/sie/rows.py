"""The reader's fast lane: rows of the usual shape, split by one regular expression over a whole block of
lines and turned into :class:`SieTrans` a voucher at a time.

Most of a SIE file is #TRANS rows, so this is where the reader's speed is. Each field that recurs (a date,
an object list, a quantity) is parsed once and remembered; the conversion runs in ``map`` over the
voucher's columns. A field that does not parse is found again row by row, to name its line.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from itertools import islice, repeat
from typing import Any

from exporters.sie.errors import SieError
from exporters.sie.model import SieTrans
from exporters.sie.text import TOKEN, object_pairs, parse_date, parse_quantity

#: One line: a row of the usual shape split into label, account, object list, amount, date, text,
#: quantity and sign; or a voucher's brace; or else the whole line, for the general path.
LINE = re.compile(
    r"^(?:[ \t]*#([RB]?TRANS)[ \t]+([0-9]+)[ \t]*\{([^{}]*)\}[ \t]*(-?[0-9]+(?:\.[0-9]{1,2})?)"
    r'(?:[ \t]+([0-9]{8}|"")(?:[ \t]+"([^"]*)"(?:[ \t]+(-?[0-9]+(?:\.[0-9]+)?|"")(?:[ \t]+"([^"]*)")?)?)?)?'
    r"[ \t\r]*|[ \t]*([{}])[ \t\r]*|(.*))$",
    re.MULTILINE,
)
#: A #TRANS row of the most usual shape (single spaces, an object list, an amount, perhaps a date and a
#: quoted text without escapes), found by splitting a whole block on it. A match runs from the newline
#: before the row to the end of its line; the newline after it is left to the next match or chunk. Every
#: line it matches, :data:`LINE` matches as a row with the same fields (quantity and sign empty).
FAST_ROW = re.compile(
    r'\n#TRANS ([0-9]+) \{([^{}\n]*)\} (-?[0-9]+(?:\.[0-9]{1,2})?)(?: ([0-9]{8}|"")(?: "([^"\n]*)")?)?\r?(?=\n)'
)
_FAST_STRIDE = 6  # the text before a row and the row's five fields
#: Where each row label goes in a voucher: its rows, rows added later, rows removed.
ROW_LABELS = {"TRANS": 0, "RTRANS": 1, "BTRANS": 2}
Match = tuple[str, ...]
Body = tuple[list[SieTrans], list[SieTrans], list[SieTrans]]

_MEMO_SIZE = 4096
_new_tuple = tuple.__new__


class _Memo(dict):
    """Text to parsed value; a miss parses (raising :class:`SieError` for bad text). Bounded."""

    def __init__(self, parse: Callable[[str], Any], seed: dict[str, Any]) -> None:
        super().__init__(seed)
        self._parse = parse
        self._seed = seed

    def __missing__(self, text: str) -> Any:
        value = self._parse(text)
        if len(self) >= _MEMO_SIZE:
            self.clear()
            self.update(self._seed)
        self[text] = value
        return value


class Rows:
    """Converts the matches of :data:`LINE` for rows into :class:`SieTrans`."""

    def __init__(self) -> None:
        no_date: dict[Any, None] = {"": None, '""': None, None: None}  # None: a fast row without a date
        self.dates = _Memo(lambda text: parse_date(text, 0, "the transaction date"), no_date)
        #: The same for a date field as bytes (the fast lane's), ``b'""'`` and None being none.
        self.raw_dates = _Memo(lambda raw: self.dates[raw.decode("ascii")], {b'""': None, None: None})
        self.objects = _Memo(lambda inside: object_pairs(TOKEN.findall(inside), 0), {"": ()})
        self.quantities = _Memo(lambda text: parse_quantity(text, 0), {"": None, '""': None})
        self.accounts = _Memo(int, {})
        self._parts: list[str | None] = []

    def date(self, token: str, line: int, what: str) -> date | None:
        """A date field (``""`` is none) with the line to name if it is not a date."""
        if token not in self.dates:
            parse_date(token, line, what)
        return self.dates[token]

    def split_block(self, block: str) -> tuple[list[str], list[SieTrans]]:
        """The block split at its rows of the usual shape (:data:`FAST_ROW`): the chunks of other lines
        between them (chunk ``k`` comes before row ``k``; each but an empty one starts with the newline
        that ended the line before it) and the rows, converted a block at a time.

        Without such rows, or with one that does not convert (the line-by-line path then names its line),
        the only chunk is the block itself, as it is."""
        parts = FAST_ROW.split("\n" + block)
        if len(parts) == 1:
            return [block], []
        texts = parts[5::_FAST_STRIDE]
        if None in texts:
            texts = ["" if text is None else text for text in texts]
        try:
            fast = list(
                map(
                    _new_tuple,
                    repeat(SieTrans),
                    zip(
                        map(self.accounts.__getitem__, parts[1::_FAST_STRIDE]),
                        map(self.objects.__getitem__, parts[2::_FAST_STRIDE]),
                        map(Decimal, parts[3::_FAST_STRIDE]),
                        map(self.dates.__getitem__, parts[4::_FAST_STRIDE]),
                        texts,
                        repeat(None),
                        repeat(""),
                    ),
                )
            )
        except SieError:
            return [block], []
        self._parts = parts
        return parts[::_FAST_STRIDE], fast

    def fast_matches(self, start: int, end: int) -> list[Match]:
        """Rows ``start`` to ``end`` (excluded) of the last :meth:`split_block` as :data:`LINE` gives them
        (for the #KSUMMA, which is rare: only then are these made)."""
        parts, stride = self._parts, _FAST_STRIDE
        columns = [parts[1 + stride * start + field : stride * end : stride] for field in range(5)]
        return [
            ("TRANS", account, objects, amount, when or "", text or "", "", "")
            for account, objects, amount, when, text in zip(*columns, strict=True)
        ]

    def add(self, body: Body, matches: list[Match], first_line: int) -> None:
        """Append the rows of ``matches`` (consecutive lines from ``first_line``) to the voucher's ``body``."""
        labels, accounts, objects, amounts, dates, texts, quantities, signs = islice(
            zip(*matches, strict=True), 8
        )
        try:
            rows = map(
                _new_tuple,
                repeat(SieTrans),
                zip(
                    map(self.accounts.__getitem__, accounts),
                    map(self.objects.__getitem__, objects),
                    map(Decimal, amounts),
                    map(self.dates.__getitem__, dates),
                    texts,
                    map(self.quantities.__getitem__, quantities),
                    signs,
                    strict=True,
                ),
            )
            if labels.count("TRANS") == len(labels):
                body[0].extend(rows)
                return
            for label, row in zip(labels, list(rows), strict=True):
                body[ROW_LABELS[label]].append(row)
        except SieError:
            for line, match in enumerate(matches, first_line):
                self.one(match, line)
            raise

    def one(self, match: Match, line: int) -> tuple[int, SieTrans]:
        """One row, and where it goes in the voucher (see :data:`ROW_LABELS`)."""
        label, account, objects, amount, when, text, quantity, sign = match[:8]
        try:
            parsed = (self.objects[objects], self.dates[when], self.quantities[quantity])
        except SieError as exc:
            raise SieError(line, exc.reason, exc.fix) from None
        row = SieTrans(int(account), parsed[0], Decimal(amount), parsed[1], text, parsed[2], sign)
        return ROW_LABELS[label], row

    def checksum(self, matches: list[Match], encoding: str, crc: int) -> int:
        """The running #KSUMMA after ``matches``, rows already added (so their object lists parse)."""
        return zlib.crc32("".join(map(self._checksum_text, matches)).encode(encoding), crc)

    def _checksum_text(self, match: Match) -> str:
        """A row's fields as #KSUMMA counts them: unquoted, without separators or braces."""
        label, account, objects, amount, when, text, quantity, sign = match[:8]
        members = "".join(sum(self.objects[objects], ()))
        when, quantity = ("" if field == '""' else field for field in (when, quantity))
        return f"#{label}{account}{members}{amount}{when}{text}{quantity}{sign}"
