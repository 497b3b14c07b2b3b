"""The reader's fastest lane: whole vouchers of the usual shape, found in a block of the file's bytes by
one regular expression, checked a block at a time, their texts decoded and rows made only on demand.

Most SIE files are vouchers written by a program, every one alike: ``#VER "K" "12" 20260914 "text"
20260915 "sign"``, ``{``, rows ``#TRANS 1910 {1 "KS1"} 1234.50 20260914 "text"`` and ``}``, each on its
own line. :data:`USUAL` (one pattern per line ending) takes exactly such a voucher: quoted fields without
escapes, backslashes, braces or line ends, single spaces, amounts with two decimals, row dates equal to
the voucher's date or ``""``; #RTRANS and #BTRANS rows (history, outside the balance) and a row's
quantity and sign too. Everything it takes the line-by-line path reads the same way without an error,
except a voucher that does not balance or a date that is no date; :func:`plan` checks those for the whole
block before anything of it is yielded, and on any doubt gives the block back to the line-by-line path,
which then says what is wrong, on which line. The balance is checked in whole öre (integers: the amounts
have exactly two decimals), so it is exact, as the Decimal sum is: by the optional C accelerator
(``exporters.sie._speedups``, :func:`checked`) where it is built, which only ever says yes, else and on any
doubt by :func:`balanced` in Python, the check of record. :data:`accelerator` set to None forces Python.

It reads bytes, not text: the file's bytes need no decoding to be checked (the line-by-line path decodes
what it reads). A voucher from here is a :class:`UsualVoucher`: a :class:`SieVoucher` whose rows
(Decimal amounts, as everywhere) are made from the voucher's bytes on first use. Reading a file only to
count or check its vouchers thus never pays for row objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate, chain, compress, count, repeat
from operator import sub
from typing import Any

from exporters.sie.errors import SieError
from exporters.sie.model import SieTrans, SieVoucher
from exporters.sie.rows import LINE, Rows

try:  # the optional C accelerator (setup.py builds it where a compiler is at hand)
    from exporters.sie import _speedups as _built
except ImportError:  # pragma: no cover - a machine without a compiler
    _built = None

#: The C accelerator the fast lane checks balances with (:func:`checked`), or None for pure Python.
#: Read at each call: set it to None to force the pure-Python lane (the tests run both lanes).
accelerator: Any = _built

#: A quoted field of a row, scanned fast (up to the next quote): :func:`_fields_are_plain` checks that
#: none holds a backslash, a brace or a line end, which the usual shape forbids. A block where one does
#: is split again with the strict field, which takes the other vouchers.
_QUOTED = rb'"[^"]*+"'
_STRICT = rb'"[^"\\\n{}]*+"'
#: A quoted field of a #VER, its text a group: the check is in the pattern (four short fields a voucher).
_FIELD = rb'"([^"\\\n{}]*+)"'


def _usual(cr: bytes, quoted: bytes) -> re.Pattern[bytes]:
    """A whole voucher of the usual shape with line ends ``cr + LF``, from its #VER to the LF after its
    ``}``. Groups: series, number, date, text, registration date, sign, the rows' bytes (the line end
    before the first row, then each row with its line end: a voucher has as many rows as its rows' bytes
    have LFs, less one) and, when the voucher has #RTRANS or #BTRANS rows, the R or B of the last one.

    It starts with a literal ``#VER``, so a search skips to the next voucher fast; that the match starts a
    line is checked after (:func:`plan`). Every repetition is possessive: what one takes never has to be
    given back for the rest to match, and not keeping the way back is what makes it fast. An optional
    field is a branch ``(?:X|)`` instead (cheaper than a possessive ``?+``): X starts with a space (or the
    point of a quantity) and what follows it never does, so the empty branch cannot match where X did.
    """
    field = _FIELD
    objects = rb"\{(?:\}|[0-9]++ " + quoted + rb"(?: [0-9]++ " + quoted + rb")*+\})"
    quantity = rb'(?:-?+[0-9]++(?:\.[0-9]++|)|"")'
    tail = rb'(?: (?:\3|"")(?: ' + quoted + rb"(?: " + quantity + rb"(?: " + quoted + rb"|)|)|)|)"
    row = rb"#(?:TRANS|([RB])TRANS) [0-9]++ " + objects + rb" -?+[0-9]++\.[0-9]{2}" + tail + cr + rb"\n"
    head = rb"#VER " + field + b" " + field + rb" ([0-9]{8})(?: " + field
    head += rb'(?: ([0-9]{8}|"")(?: ' + field + rb"|)|)|)" + cr + rb"\n"
    return re.compile(head + rb"\{" + cr + rb"(\n(?:" + row + rb")*+)\}" + cr + rb"\n")


USUAL = {b"\r\n": _usual(rb"\r", _QUOTED), b"\n": _usual(b"", _QUOTED)}
_USUAL_STRICT = {b"\r\n": _usual(rb"\r", _STRICT), b"\n": _usual(b"", _STRICT)}
_STRIDE = 9  # the bytes before a voucher and the voucher's eight groups
#: A row's amount in the rows' bytes with the points taken out: in a usual row the only "} " closes the
#: object list (no field may hold a brace), and the amount follows it.
ORE = re.compile(rb"\} (-?[0-9]+)")
#: Every byte but the ones a quoted field of a usual row must not hold, and the quote.
_ORDINARY = bytes(sorted(set(range(256)) - set(b'"\\\n{}')))


def _fields_are_plain(rows: bytes) -> bool:
    """Whether no quoted field of these usual rows holds a backslash, a brace or a line end.

    The quotes pair up in order (no field holds a quote). Kept with the other bytes that may not be in a
    field, the quotes of plain fields stand in pairs, side by side; take those pairs out and no quote is
    left. A field with such a byte leaves its quotes apart, and one of them stays."""
    return b'"' not in rows.translate(None, _ORDINARY).replace(b'""', b"")


def balanced(bodies: list[bytes], lines: list[int], history: list[bytes | None]) -> bool | None:
    """Whether each of these usual vouchers balances in whole öre, its #TRANS rows summing to 0; None when
    a quoted field holds what it may not. Of each voucher: its rows' bytes, how many LFs they hold and
    whether it has history rows, as :data:`USUAL` gives them.

    This and :data:`USUAL` are the least the fast lane does (the benchmark's floor runs them)."""
    joined = b"".join(bodies)
    if not _fields_are_plain(joined):
        return None
    ore = list(map(int, ORE.findall(joined.replace(b".", b""))))
    if len(ore) != sum(lines) - len(lines):
        return None
    if any(history):
        first_rows = list(accumulate(map(sub, lines, repeat(1)), initial=0))
        for voucher in compress(range(len(bodies)), history):
            for place, row in enumerate(bodies[voucher].split(b"\n")[1:-1], first_rows[voucher]):
                if not row.startswith(b"#T"):
                    ore[place] = 0  # history, outside the balance
    totals = list(accumulate(ore, initial=0))
    return not any(map(totals.__getitem__, map(sub, accumulate(lines), count(1))))


def checked(bodies: list[bytes], lines: list[int], history: list[bytes | None]) -> bool | None:
    """:func:`balanced`, by the C accelerator when it is there and can tell. It only ever says yes
    (every voucher of the usual shape, its fields plain, its #TRANS rows summing to 0 in whole öre); on
    anything else (a voucher that does not balance, a field with a brace, an amount of 19 digits or
    more) it declines and :func:`balanced`, the check of record, decides."""
    speedups = accelerator
    if speedups is not None and speedups.all_balanced(bodies):
        return True
    return balanced(bodies, lines, history)


def lane() -> str:
    """Which lane checks balances now: "C" or "Python"."""
    return "Python" if accelerator is None else "C"


def _decoded(index: int, name: str) -> property:
    """A text field of a :class:`UsualVoucher`, decoded when asked for (None stands for none: "")."""

    def get(self: UsualVoucher) -> str:
        return (tuple.__getitem__(self, index) or b"").decode(self.encoding)

    return property(get, doc=f"The voucher's {name}.")


class UsualVoucher(SieVoucher):
    """A :class:`SieVoucher` read by the fast lane: balanced and valid, its texts decoded and its rows made
    on first use.

    It behaves as the :class:`SieVoucher` it stands for (fields, ``rows``, equality, hashing, iteration,
    ``repr``, ``_replace``, ``_make``, pickling, copying). Inside the tuple the texts' and rows' places hold
    their bytes (in the voucher's ``encoding``): C code that reads a tuple's items directly
    (``json.dumps``) sees those, so hand such code ``voucher.eager()`` or ``voucher.to_dict()``."""

    encoding = "cp437"  # of the bytes (an ASCII block reads the same in any)

    series = _decoded(0, "series")  # type: ignore[assignment]
    number = _decoded(1, "number")  # type: ignore[assignment]
    text = _decoded(3, "text")  # type: ignore[assignment]
    sign = _decoded(5, "sign")  # type: ignore[assignment]

    @property  # type: ignore[override]
    def rows(self) -> tuple[SieTrans, ...]:  # type: ignore[override]
        return self.eager().rows

    @property  # type: ignore[override]
    def added(self) -> tuple[SieTrans, ...]:  # type: ignore[override]
        return self.eager().added

    @property  # type: ignore[override]
    def removed(self) -> tuple[SieTrans, ...]:  # type: ignore[override]
        return self.eager().removed

    def eager(self) -> SieVoucher:
        """The plain :class:`SieVoucher` (made once)."""
        made = self.__dict__.get("_eager")
        if made is None:
            series, number, when, text, registered, sign, rows, _, _, line = tuple.__iter__(self)
            encoding = self.encoding
            made = tuple.__new__(
                SieVoucher,
                (
                    series.decode(encoding),
                    number.decode(encoding),
                    when,
                    (text or b"").decode(encoding),
                    registered,
                    (sign or b"").decode(encoding),
                    *_rows(rows, encoding),
                    line,
                ),
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


class Utf8UsualVoucher(UsualVoucher):
    """A :class:`UsualVoucher` of a UTF-8 file."""

    encoding = "utf-8"


VOUCHER_CLASSES = {"ascii": UsualVoucher, "cp437": UsualVoucher, "utf-8": Utf8UsualVoucher}
_ROWS = Rows()  # its memos of dates and object lists are shared by every voucher's rows


def _rows(rows: bytes, encoding: str) -> tuple[tuple[SieTrans, ...], ...]:
    """A usual voucher's rows, rows added and rows removed, from their bytes (a LF, then the rows), as the
    line-by-line path makes them."""
    if len(rows) == 1:
        return (), (), ()
    text = rows.decode(encoding)
    body: Any = ([], [], [])
    _ROWS.add(body, LINE.findall(text, 1, len(text) - 1), 0)
    return tuple(body[0]), tuple(body[1]), tuple(body[2])


class Plan:
    """A block of lines as the bytes between usual vouchers and those vouchers, already made and checked.

    ``parts`` is the block split by :data:`USUAL`; ``vouchers[j]`` comes after ``between(j)``; ``starts``
    holds the first line of each between and each voucher, in turn, and the line after the block;
    ``newline`` is the line end of the block's usual vouchers.
    """

    def __init__(
        self, parts: list[Any], vouchers: list[UsualVoucher], starts: list[int], newline: bytes, encoding: str
    ) -> None:
        self.parts = parts
        self.vouchers = vouchers
        self.starts = starts
        self.newline = newline
        self.encoding = encoding
        #: Indexes ``j`` whose :meth:`between` is not empty.
        self.betweens = list(compress(range(len(vouchers) + 1), parts[::_STRIDE]))

    def last_line(self, j: int) -> int:
        """The number of the last line of voucher ``j`` (its ``}``)."""
        return self.starts[2 * j + 2] - 1

    def between(self, j: int) -> str:
        """The whole lines before voucher ``j`` (after voucher ``j - 1``); ``j == len(vouchers)``: the rest."""
        return self.parts[j * _STRIDE].decode(self.encoding)

    def rest(self, j: int) -> str:
        """The whole lines from voucher ``j`` to the end of the block, as written."""
        parts, pieces, newline = self.parts, [], self.newline
        for k in range(j * _STRIDE, len(parts) - 1, _STRIDE):
            series, number, when, text, registered, sign, rows, _ = parts[k + 1 : k + _STRIDE]
            head = b'#VER "%s" "%s" %s' % (series, number, when)
            if text is not None:
                head += b' "%s"' % text
                if registered is not None:
                    head += b" %s" % registered
                    if sign is not None:
                        head += b' "%s"' % sign
            pieces += (head, newline, b"{", newline[:-1], rows, b"}", newline, parts[k + _STRIDE])
        return b"".join(pieces).decode(self.encoding)


def plan(block: bytes, number: int, dates: Callable[[bytes], Any], encoding: str) -> Plan | None:
    """The block's usual vouchers (its first line being line ``number + 1``), made and checked; None when
    it has none, or when one of them would be an error (the line-by-line path then reads the block).

    The block is whole lines in ``encoding`` ("ascii", "cp437" or "utf-8"); ``dates`` parses a date field
    (a memo of the reader's, raising :class:`SieError`)."""
    newline = b"\r\n" if b"\r\n" in block else b"\n"
    for usual in (USUAL[newline], _USUAL_STRICT[newline]):
        parts = usual.split(block)
        if len(parts) == 1:
            return None
        bodies = parts[7::_STRIDE]
        lines = list(map(bytes.count, bodies, repeat(b"\n")))  # a voucher's rows, and 1
        balance = checked(bodies, lines, parts[8::_STRIDE])
        if balance is not None:
            break
    if not balance:
        return None  # a voucher does not balance: the line-by-line path names it
    betweens = parts[::_STRIDE]
    if not all(map(bytes.endswith, filter(None, betweens[:-1]), repeat(b"\n"))):
        return None  # a match that does not start a line: not a voucher of the usual shape
    try:
        when = list(map(dates, parts[3::_STRIDE]))
        registered = list(map(dates, parts[5::_STRIDE]))
    except SieError:
        return None
    # Lines of the bytes before each voucher, and of the voucher: its #VER, {, rows and }.
    spans = chain.from_iterable(
        zip(map(bytes.count, betweens, repeat(b"\n")), map((2).__add__, lines), strict=False)
    )
    starts = list(accumulate(spans, initial=number + 1))
    vouchers = list(
        map(
            tuple.__new__,
            repeat(VOUCHER_CLASSES[encoding]),
            zip(
                parts[1::_STRIDE],
                parts[2::_STRIDE],
                when,
                parts[4::_STRIDE],
                registered,
                parts[6::_STRIDE],
                bodies,
                repeat(()),
                repeat(()),
                starts[1::2],
            ),
        )
    )
    return Plan(parts, vouchers, starts, newline, encoding)
