"""The reader's fastest lane: whole vouchers of the usual shape, found in a block by one regular
expression, checked to balance a block at a time, their rows made only when someone asks for them.

Most SIE files are vouchers written by a program, every one alike: ``#VER "K" "12" 20260914 "text"
20260915 "sign"``, ``{``, rows ``#TRANS 1910 {1 "KS1"} 1234.50 20260914 "text"`` and ``}``, each on its
own line. :data:`USUAL` (one pattern per line ending) takes exactly such a voucher: quoted fields without
escapes, backslashes or braces, single spaces, amounts with two decimals, row dates equal to the
voucher's date or ``""``. Everything it takes the line-by-line path reads the same way without an error,
except a voucher that does not balance or a date that is no date; :func:`plan` checks those for the whole
block before anything of it is yielded, and on any doubt gives the block back to the line-by-line path,
which then says what is wrong, on which line. The balance is checked in whole öre (integers: the amounts
have exactly two decimals), so it is exact, as the Decimal sum is.

A voucher from here is a :class:`UsualVoucher`: a :class:`SieVoucher` whose rows (Decimal amounts, as
everywhere) are made from the voucher's text on first use. Reading a file only to count or check its
vouchers thus never pays for row objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate, chain, compress, repeat
from typing import Any

from exporters.sie.errors import SieError
from exporters.sie.model import SieTrans, SieVoucher
from exporters.sie.rows import LINE, Rows

_QUOTED = r'"[^"\\\n{}]*+"'
_FIELD = r'"([^"\\\n{}]*+)"'


def _usual(cr: str) -> re.Pattern[str]:
    """A whole voucher of the usual shape with line ends ``cr + LF``, from its #VER to the LF after its
    ``}``. Groups: series, number, date, text, registration date, sign, and the rows' text (each row with
    its line end). It starts with a literal ``#VER``, so a search skips to the next voucher fast; that the
    match starts a line is checked after (:func:`plan`). Every repetition is possessive: what one takes
    never has to be given back for the rest to match, and not keeping the way back is what makes it fast.
    """
    objects = rf"\{{(?:\}}|[0-9]++ {_QUOTED}(?: [0-9]++ {_QUOTED})*+\}})"
    row = rf'#TRANS [0-9]++ {objects} -?+[0-9]++\.[0-9]{{2}}(?: (?:\3|"")(?: {_QUOTED})?+)?+{cr}\n'
    head = rf'#VER {_FIELD} {_FIELD} ([0-9]{{8}})(?: {_FIELD}(?: ([0-9]{{8}}|"")(?: {_FIELD})?+)?+)?+{cr}\n'
    return re.compile(rf"{head}\{{{cr}\n((?:{row})*+)\}}{cr}\n")


USUAL = {"\r\n": _usual(r"\r"), "\n": _usual("")}
_STRIDE = 8  # the text before a voucher and the voucher's seven groups
#: A row's amount in the rows' text with the points taken out: in a usual row the only "} " closes the
#: object list (no field may hold a brace), and the amount follows it.
ORE = re.compile(r"\} (-?[0-9]+)")
_NONE_IS_EMPTY = {None: ""}


class UsualVoucher(SieVoucher):
    """A :class:`SieVoucher` read by the fast lane: balanced and valid, its rows made on first use.

    It behaves as the :class:`SieVoucher` it stands for (fields, ``rows``, equality, hashing, iteration,
    ``repr``, ``_replace``, ``_make``, pickling, copying); only the rows are made late. Inside the tuple the
    rows' place holds their text: C code that reads a tuple's items directly (``json.dumps``) sees that
    text, so hand such code ``voucher.eager()`` or ``voucher.to_dict()``."""

    @property  # type: ignore[override]
    def rows(self) -> tuple[SieTrans, ...]:  # type: ignore[override]
        return self.eager().rows

    def eager(self) -> SieVoucher:
        """The plain :class:`SieVoucher` (made once)."""
        made = self.__dict__.get("_eager")
        if made is None:
            series, number, when, text, registered, sign, rows, added, removed, line = tuple.__iter__(self)
            made = tuple.__new__(
                SieVoucher, (series, number, when, text, registered, sign, _rows(rows), added, removed, line)
            )
            self.__dict__["_eager"] = made
        return made

    def __iter__(self):  # type: ignore[override]
        return iter(self.eager())

    def __getitem__(self, index):  # type: ignore[override]
        return self.eager()[index]

    def __contains__(self, value: object) -> bool:
        return value in self.eager()

    def __eq__(self, other: object) -> bool:
        return self.eager() == other

    def __ne__(self, other: object) -> bool:
        return self.eager() != other

    def __lt__(self, other: Any) -> bool:
        return self.eager() < other

    def __le__(self, other: Any) -> bool:
        return self.eager() <= other

    def __gt__(self, other: Any) -> bool:
        return self.eager() > other

    def __ge__(self, other: Any) -> bool:
        return self.eager() >= other

    def __hash__(self) -> int:
        return hash(self.eager())

    def __add__(self, other: Any) -> Any:
        return self.eager() + other

    def __mul__(self, times: Any) -> Any:
        return self.eager() * times

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return repr(self.eager())

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple.__new__, (SieVoucher, tuple(self.eager()))

    def count(self, value: Any) -> int:
        return self.eager().count(value)

    def index(self, value: Any, *args: Any) -> int:
        return self.eager().index(value, *args)

    def _replace(self, **changes: Any) -> SieVoucher:
        return self.eager()._replace(**changes)

    @classmethod
    def _make(cls, iterable: Any) -> SieVoucher:  # type: ignore[override]
        return SieVoucher._make(iterable)


_ROWS = Rows()  # its memos of dates and object lists are shared by every voucher's rows


def _rows(text: str) -> tuple[SieTrans, ...]:
    """The rows of a usual voucher from their text, as the line-by-line path makes them."""
    if not text:
        return ()
    body: Any = ([], [], [])
    _ROWS.add(body, LINE.findall(text, 0, len(text) - 1), 0)
    return tuple(body[0])


class Plan:
    """A block of lines as the text between usual vouchers and those vouchers, already made and checked.

    ``parts`` is the block split by :data:`USUAL`; ``vouchers[j]`` comes after ``between(j)``; ``after[j]``
    is the number of the last line of voucher ``j``; ``newline`` the line end of the block's usual vouchers.
    """

    def __init__(
        self, parts: list[Any], vouchers: list[UsualVoucher], after: list[int], newline: str
    ) -> None:
        self.parts = parts
        self.vouchers = vouchers
        self.after = after
        self.newline = newline
        #: Indexes ``j`` whose :meth:`between` is not empty.
        self.betweens = list(compress(range(len(vouchers) + 1), parts[::_STRIDE]))

    def between(self, j: int) -> str:
        """The whole lines before voucher ``j`` (after voucher ``j - 1``); ``j == len(vouchers)``: the rest."""
        return self.parts[j * _STRIDE]

    def rest(self, j: int) -> str:
        """The whole lines from voucher ``j`` to the end of the block, as written."""
        parts, texts = self.parts, []
        for k in range(j * _STRIDE, len(parts) - 1, _STRIDE):
            series, number, when, text, registered, sign, rows = parts[k + 1 : k + _STRIDE]
            head = f'#VER "{series}" "{number}" {when}'
            if text is not None:
                head += f' "{text}"'
                if registered is not None:
                    head += f" {registered}"
                    if sign is not None:
                        head += f' "{sign}"'
            texts += (head, self.newline, "{", self.newline, rows, "}", self.newline, parts[k + _STRIDE])
        return "".join(texts)


def plan(block: str, number: int, dates: Callable[[str], Any]) -> Plan | None:
    """The block's usual vouchers (its first line being line ``number + 1``), made and checked; None when
    it has none, or when one of them would be an error (the line-by-line path then reads the block).

    ``dates`` parses a date field (a memo of the reader's, raising :class:`SieError`)."""
    newline = "\r\n" if "\r\n" in block else "\n"
    parts = USUAL[newline].split(block)
    if len(parts) == 1:
        return None
    betweens = parts[::_STRIDE]
    if not all(map(str.endswith, filter(None, betweens[:-1]), repeat("\n"))):
        return None  # a match that does not start a line: not a voucher of the usual shape
    bodies = parts[7::_STRIDE]
    rows = list(map(str.count, bodies, repeat("\n")))
    ore = list(map(int, ORE.findall("".join(bodies).replace(".", ""))))
    if len(ore) != sum(rows):
        return None
    totals = list(accumulate(ore, initial=0))
    if any(map(totals.__getitem__, accumulate(rows))):
        return None  # a voucher does not balance: the line-by-line path names it
    try:
        when = list(map(dates, parts[3::_STRIDE]))
        registered = list(map(dates, parts[5::_STRIDE]))
    except SieError:
        return None
    # Lines before each voucher's #VER and to its }: the text before it, then its rows and 3.
    lines = chain.from_iterable(
        zip(map(str.count, betweens, repeat("\n")), map((3).__add__, rows), strict=False)
    )
    ends = list(accumulate(lines, initial=number))
    texts, signs = parts[4::_STRIDE], parts[6::_STRIDE]
    vouchers = list(
        map(
            tuple.__new__,
            repeat(UsualVoucher),
            zip(
                parts[1::_STRIDE],
                parts[2::_STRIDE],
                when,
                map(_NONE_IS_EMPTY.get, texts, texts),
                registered,
                map(_NONE_IS_EMPTY.get, signs, signs),
                bodies,
                repeat(()),
                repeat(()),
                map((1).__add__, ends[1::2]),
            ),
        )
    )
    return Plan(parts, vouchers, ends[2::2], newline)
