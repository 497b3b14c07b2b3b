"""A streaming SIE 4 reader (types 1-4, 4E and 4I), tolerant of what real programs write.

``iter_sie`` reads a block of lines at a time and yields each record as it completes, so memory stays
flat whatever the file's size; ``read_sie`` collects the same items into a :class:`SieFile`. Anything
the reader cannot take raises :class:`SieError` with the line number; no other exception escapes.

Tolerated, as the standard asks or real files need (FACTS.md 1.3-1.8): labels indented, blank lines,
unknown labels and extra trailing fields (ignored), TABs, quoted numbers, a voucher body whose opening
brace is missing (e-conomic). #RTRANS (a row added later) is always followed by a #TRANS copy of it,
and #BTRANS (a removed row) is history: the #TRANS rows are the voucher and only they must balance.
#KSUMMA is CRC-32 over every field from the opening ``#KSUMMA`` to the closing ``#KSUMMA <value>``,
unquoted, without separators or braces, in the file's own bytes; a file without one is accepted.
"""

from __future__ import annotations

import operator
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from decimal import MAX_PREC, Context, localcontext
from itertools import chain
from typing import Any

from exporters.sie.errors import SieError
from exporters.sie.model import BALANCE_LABELS, Account, Balance, Record, SieTrans, SieVoucher
from exporters.sie.rows import LINE, ROW_LABELS, Body, Match, Rows
from exporters.sie.text import (
    TOKEN,
    Decoder,
    Source,
    open_source,
    parse_account,
    parse_amount,
    parse_objects,
    parse_quantity,
    parse_year,
    unquote,
)
from exporters.sie.usual import Plan, plan

Item = Record | Account | Balance | SieVoucher
_HEADER_LABELS = frozenset(
    [
        "FLAGGA",
        "PROGRAM",
        "FORMAT",
        "GEN",
        "SIETYP",
        "PROSA",
        "FTYP",
        "FNR",
        "ORGNR",
        "ADRESS",
        "TAXAR",
        "KPTYP",
        "VALUTA",
        "BKOD",
        "RAR",
        "OMFATTN",
        "KTYP",
        "ENHET",
        "SRU",
        "DIM",
        "UNDERDIM",
        "OBJEKT",
        "FNAMN",
    ]
)


#: A #VER of the usual shape, its fields quoted without escapes or bare (the general path reads the rest).
_FIELD = r'("[^"]*"|[^ \t\r"{}]+)'
_VER = re.compile(
    rf"[ \t]*#VER[ \t]+{_FIELD}[ \t]+{_FIELD}[ \t]+([0-9]{{8}})"
    rf'(?:[ \t]+{_FIELD}(?:[ \t]+([0-9]{{8}}|"")(?:[ \t]+{_FIELD})?)?)?[ \t\r]*'
)
#: The lines between two vouchers of the usual shape, as one chunk (see ``Rows.split_block``): the first
#: one's closing brace, the second one's #VER and opening brace. Fields do not run over a line's end.
_BETWEEN = re.compile(
    r"\n[ \t]*\}[ \t\r]*\n"
    + _VER.pattern.replace(_FIELD, r'("[^"\n]*"|[^ \t\r\n"{}]+)')
    + r"\n[ \t]*\{[ \t\r]*"
)
_new_tuple = tuple.__new__
_amount = operator.itemgetter(2)
#: Sums of amounts kept exact: the default 28 digits would round a sum of huge amounts away from 0.
_EXACT = Context(prec=MAX_PREC)


def _steps(usual: Plan) -> list[Any]:
    """The block as text for the line-by-line path and runs ``(start, end)`` of usual vouchers, in order."""
    steps: list[Any] = []
    done = 0
    for j in usual.betweens:
        if j > done:
            steps.append((done, j))
        steps.append(usual.between(j))
        done = j
    if done < len(usual.vouchers):
        steps.append((done, len(usual.vouchers)))
    return steps


class SieReader:
    """The records of one SIE file: ``for item in SieReader(pieces_of_bytes)``.

    After the iteration ``encoding`` says how the file was written and ``checksum`` holds its verified
    #KSUMMA (None without one)."""

    def __init__(self, pieces: Iterable[bytes], *, fast: bool = True) -> None:
        self._pieces = pieces
        self._fast = fast  # False: every line by the plain line-by-line path (tests compare the two)
        self.encoding = "ascii"
        self.checksum: int | None = None
        self._rows = Rows()

    def __iter__(self) -> Iterator[Item]:
        return chain.from_iterable(self.batches())

    def batches(self) -> Iterator[Sequence[Item]]:
        """The records in file order, a batch at a time (a run of usual vouchers is one batch): iterating
        over a batch is C code, and a whole file of vouchers passes no Python code per voucher."""
        findall, rows = LINE.findall, self._rows
        crc: int | None = None  # the running #KSUMMA while one is open
        closed_at = 0  # the line of the closing #KSUMMA
        head: list[Any] | None = None  # the #VER whose body is awaited or open
        head_line = number = 0
        body: Body | None = None
        pending: list[Match] = []  # consecutive rows of the usual shape, converted at the next other line
        decoder = Decoder()
        dates = rows.raw_dates.__getitem__
        for encoding, whole in decoder.blocks(self._pieces):
            usual = (
                plan(whole, number, dates, encoding) if self._fast and crc is None and not closed_at else None
            )
            steps: list[Any] = [whole.decode(encoding)] if usual is None else _steps(usual)
            step_index = 0
            while step_index < len(steps):
                step = steps[step_index]
                step_index += 1
                if step.__class__ is not str:  # a run of usual vouchers, made and checked
                    start, end = step
                    clean = head is None and body is None and not pending and crc is None and not closed_at
                    if clean and number + 1 == usual.vouchers[start].line:  # type: ignore[union-attr]
                        yield usual.vouchers[start:end]  # type: ignore[union-attr]
                        number = usual.last_line(end - 1)  # type: ignore[union-attr]
                        continue
                    steps[step_index:] = [usual.rest(start)]  # type: ignore[union-attr]
                    continue
                block = step
                if not block:
                    continue
                chunks, fast = rows.split_block(block) if self._fast else ([block], [])
                # The block is chunks[0], fast row 0, chunks[1], fast row 1 ... chunks[-1]: the lines between
                # rows of the usual shape, and those rows already converted, a run of consecutive rows at a time.
                last = len(chunks) - 1
                run_start = 0
                for k in [k for k, chunk in enumerate(chunks) if chunk] if last else (0,):
                    if k > run_start:
                        if pending:
                            rows.add(body, pending, number + 1 - len(pending))
                            if crc is not None:
                                crc = rows.checksum(pending, encoding, crc)
                            pending.clear()
                        if body is None:
                            body = self._implicit_body(head, "TRANS", number + 1)
                        body[0].extend(fast[run_start:k])
                        if crc is not None:
                            crc = rows.checksum(rows.fast_matches(run_start, k), encoding, crc)
                        number += k - run_start
                    run_start = k
                    chunk = chunks[k]
                    if 0 < k < last and body is not None and not pending and crc is None and not closed_at:
                        between = _BETWEEN.fullmatch(chunk)
                        if between is not None:  # }, #VER, { as the line by line path takes them
                            yield (self._voucher(head, body, head_line),)  # type: ignore[arg-type]
                            head, head_line = (
                                self._usual_voucher_head(between.groups(), number + 2),
                                number + 2,
                            )
                            body = ([], [], [])
                            number += 3
                            continue
                    if last:
                        chunk = chunk[1:] + "\n" if k < last else chunk[1:]
                        if not chunk:
                            continue
                    for match in findall(chunk, 0, len(chunk) - 1):
                        number += 1
                        if match[0]:
                            if body is None:
                                body = self._implicit_body(head, match[0], number)
                            pending.append(match)
                            continue
                        if pending:
                            rows.add(body, pending, number - len(pending))
                            if crc is not None:
                                crc = rows.checksum(pending, encoding, crc)
                            pending.clear()
                        brace, line = match[8:]
                        if brace == "{":
                            if head is None or body is not None:
                                raise SieError(number, "{ without a #VER before it")
                            body = ([], [], [])
                            continue
                        if brace:
                            if body is None or head is None:
                                raise SieError(number, "} without an open voucher")
                            yield (self._voucher(head, body, head_line),)
                            head = body = None
                            continue
                        if head is None and crc is None and not closed_at:
                            ver = _VER.fullmatch(line)
                            if ver is not None:
                                head, head_line = self._usual_voucher_head(ver.groups(), number), number
                                continue
                        tokens = TOKEN.findall(line)
                        if not tokens:
                            continue
                        first = tokens[0]
                        if first == "{" or first == "}":
                            raise SieError(number, f"a brace {first} must stand alone on its line")
                        if first[0] != "#" or len(first) == 1:
                            raise SieError(number, f"the line starts with {first[:20]!r}, not with a #label")
                        label = first[1:].upper()
                        if closed_at:
                            raise SieError(number, f"#{label} after the closing #KSUMMA on line {closed_at}")
                        if label == "KSUMMA":
                            crc, closed_at = self._ksumma(tokens, number, crc, head is not None)
                            if closed_at:
                                yield (Record("KSUMMA", (str(self.checksum),), number),)
                            continue
                        if crc is not None:
                            fields = "".join(unquote(token, number) for token in tokens if token not in "{}")
                            crc = zlib.crc32(fields.encode(encoding), crc)
                        if label in ROW_LABELS:
                            if body is None:
                                body = self._implicit_body(head, label, number)
                            body[ROW_LABELS[label]].append(self._trans(tokens, number))
                        elif body is not None:
                            if label == "VER":
                                raise SieError(head_line, "the voucher's body is not closed with }")
                        elif head is not None:
                            raise SieError(head_line, "#VER must be followed by { on its own line")
                        elif label == "VER":
                            head, head_line = self._voucher_head(tokens, number), number
                        elif label == "KONTO":
                            name = unquote(tokens[2], number) if len(tokens) > 2 else ""
                            account = parse_account(tokens[1] if len(tokens) > 1 else '""', number)
                            yield (Account(account, name, number),)
                        elif label in BALANCE_LABELS:
                            yield (self._balance(label, tokens, number),)
                        elif label in _HEADER_LABELS:
                            yield (self._record(label, tokens, number),)
            if pending and crc is not None:  # the next block may be in another encoding
                rows.add(body, pending, number + 1 - len(pending))
                crc = rows.checksum(pending, encoding, crc)
                pending.clear()
        if head is not None:
            raise SieError(head_line, "the file ends inside this voucher", "the file is cut short")
        if crc is not None:
            raise SieError(number, "the file opens a #KSUMMA but never closes it", "the file is cut short")
        self.encoding = decoder.encoding

    # -- records ----------------------------------------------------------------------------------

    @staticmethod
    def _implicit_body(head: list[Any] | None, label: str, line: int) -> Body:
        """Rows right after a #VER whose opening brace is missing: the rows still say what it is."""
        if head is None:
            raise SieError(line, f"#{label} outside a voucher", "rows belong between { and } after #VER")
        return ([], [], [])

    def _trans(self, tokens: list[str], line: int) -> SieTrans:
        if len(tokens) < 3:
            raise SieError(line, f"{tokens[0]} needs an account and an amount")
        account = parse_account(tokens[1], line)
        objects, index = parse_objects(tokens, 2, line)
        if index >= len(tokens):
            raise SieError(line, f"{tokens[0]} has no amount")
        amount = parse_amount(tokens[index], line)
        when, text, quantity, sign = (tokens[index + 1 : index + 5] + ['""'] * 4)[:4]
        return SieTrans(
            account,
            objects,
            amount,
            self._rows.date(when, line, "the transaction date"),
            unquote(text, line),
            parse_quantity(quantity, line),
            unquote(sign, line),
        )

    def _usual_voucher_head(self, fields: tuple[str | None, ...], line: int) -> list[Any]:
        """A #VER that :data:`_VER` matched: series and number are there, the date is 8 digits, a
        registration date is 8 digits or ``""``; any field may be quoted (without escapes)."""
        series, number, when, text, registered, sign = fields
        date = self._rows.date
        return [
            series[1:-1] if series[0] == '"' else series,  # type: ignore[index]
            number[1:-1] if number[0] == '"' else number,  # type: ignore[index]
            date(when, line, "the voucher date"),  # type: ignore[arg-type]
            "" if text is None else text[1:-1] if text[0] == '"' else text,
            None if registered is None else date(registered, line, "the registration date"),
            "" if sign is None else sign[1:-1] if sign[0] == '"' else sign,
        ]

    def _voucher_head(self, tokens: list[str], line: int) -> list[Any]:
        if len(tokens) < 4:
            raise SieError(line, "#VER needs series, number and date", 'e.g. #VER "K" "" 20260914 "Z 142"')
        series, number, when, text, registered, sign = (tokens[1:7] + ['""'] * 6)[:6]
        verdate = self._rows.date(when, line, "the voucher date")
        if verdate is None:
            raise SieError(line, "#VER has no date", "every voucher has a date, written YYYYMMDD")
        return [
            unquote(series, line),
            unquote(number, line),
            verdate,
            unquote(text, line),
            self._rows.date(registered, line, "the registration date"),
            unquote(sign, line),
        ]

    @staticmethod
    def _balance(label: str, tokens: list[str], line: int) -> Balance:
        period_field = 1 if label in ("PSALDO", "PBUDGET") else 0
        if len(tokens) < 4 + period_field:
            raise SieError(line, f"#{label} needs a year, an account and an amount")
        year = parse_year(tokens[1], line)
        period = unquote(tokens[2], line) if period_field else None
        account = parse_account(tokens[2 + period_field], line)
        objects, index = parse_objects(tokens, 3 + period_field, line)
        if index >= len(tokens):
            raise SieError(line, f"#{label} has no amount")
        amount = parse_amount(tokens[index], line)
        quantity = parse_quantity(tokens[index + 1] if len(tokens) > index + 1 else None, line)
        return Balance(label, year, account, amount, quantity, period, objects, line)

    @staticmethod
    def _record(label: str, tokens: list[str], line: int) -> Record:
        fields: list[Any] = []
        group: list[str] | None = None
        for token in tokens[1:]:
            if token == "{" and group is None:
                group = []
            elif token == "}" and group is not None:
                fields.append(tuple(group))
                group = None
            elif group is not None:
                group.append(unquote(token, line))
            else:
                fields.append(unquote(token, line))
        return Record(label, tuple(fields), line)

    def _ksumma(
        self, tokens: list[str], line: int, crc: int | None, in_voucher: bool
    ) -> tuple[int | None, int]:
        """The running checksum after a #KSUMMA record, and the line where the checksum closed."""
        if in_voucher:
            raise SieError(line, "#KSUMMA inside a voucher")
        if len(tokens) == 1:
            if crc is not None:
                raise SieError(line, "a second opening #KSUMMA")
            return 0, 0
        if crc is None:
            raise SieError(line, "a closing #KSUMMA without the opening #KSUMMA after #FLAGGA")
        written = unquote(tokens[1], line)
        if not (written.isascii() and written.isdigit()):
            raise SieError(line, f"#KSUMMA {written!r} is not a checksum", "it is an unsigned whole number")
        if int(written) != crc:
            raise SieError(
                line,
                f"#KSUMMA {written} does not match the file's contents (computed {crc})",
                "the file was changed or damaged after it was written; export it again",
            )
        self.checksum = crc
        return None, line

    @staticmethod
    def _voucher(head: list[Any], body: Body, line: int) -> SieVoucher:
        rows, added, removed = body
        voucher = _new_tuple(SieVoucher, (*head, tuple(rows), tuple(added), tuple(removed), line))
        with localcontext(_EXACT):
            total = sum(map(_amount, rows))
        if total:
            raise SieError(
                line,
                f"voucher {voucher.series} {voucher.number} of {voucher.date.isoformat()} does not "
                f"balance: its #TRANS rows sum to {total}",
                "within a voucher the amounts must sum to zero",
            )
        return voucher


def iter_sie(source: Source) -> Iterator[Item]:
    """The records of a SIE file one by one: :class:`Record` (identification and chart records),
    :class:`Account`, :class:`Balance` and :class:`SieVoucher` (checked to balance).

    ``source`` is a path, the file's bytes, or a binary stream (read in blocks, not closed). Raises
    :class:`SieError` with the line number on anything it cannot take; a #KSUMMA that does not match is
    found at its closing record, after the records before it have been yielded. Nothing is read before
    the first record is asked for."""
    return chain.from_iterable(_batches(source))


def _batches(source: Source) -> Iterator[Sequence[Item]]:
    pieces, owned = open_source(source)
    try:
        yield from SieReader(pieces).batches()
    except OSError as exc:
        raise SieError(0, f"cannot read the file: {exc}", "check the file") from exc
    finally:
        if owned is not None:
            owned.close()
