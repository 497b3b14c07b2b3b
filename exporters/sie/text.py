"""From the bytes of a SIE file to text, and from a line of text to its fields.

Characters: the standard says IBM PC8 (code page 437), and most files are. Many declare ``#FORMAT PC8``
and are UTF-8; the first line with a byte above 127 decides: valid UTF-8 means a UTF-8 file (a later
line that is not UTF-8 is read as CP437 on its own), anything else a CP437 file. One odd byte (a Latin-1
``ö`` in a Windows path) never turns the whole file into Latin-1.

Fields are separated by spaces or TABs (a no-break space inside a name is part of the name); any field
may be quoted; inside quotes ``\\"`` is a quote and a lone backslash is itself (Windows paths).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import IO

from exporters.sie.errors import SieError
from exporters.sie.model import Objects

Source = str | os.PathLike[str] | bytes | IO[bytes] | Iterable[bytes]

#: A quoted field, a brace, an unquoted field, or a quote that is never closed. Inside quotes ``\\"``
#: is a quote unless it is the last one on the line (``"C:\\SIE\\"`` is a path ending in a backslash).
TOKEN = re.compile(r'"(?:[^"\\]++|\\"|\\)*"|[{}]|[^ \t\r\n{}"]+|"')
_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")
_QUANTITY = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_CHUNK = 1 << 16


def open_source(source: Source) -> tuple[Iterable[bytes], IO[bytes] | None]:
    """The source as pieces of bytes, and the stream to close afterwards if this opened it."""
    if isinstance(source, (str, os.PathLike)):
        try:
            stream = open(source, "rb")  # noqa: SIM115 - the caller closes it
        except OSError as exc:
            raise SieError(0, f"cannot open {os.fspath(source)}: {exc.strerror}", "check the path") from exc
        return iter(lambda: stream.read(_CHUNK), b""), stream
    if isinstance(source, (bytes, bytearray, memoryview)):
        return (bytes(source),), None
    read = getattr(source, "read", None)
    if read is not None:
        return iter(lambda: read(_CHUNK), b""), None
    return source, None


class Decoder:
    """Pieces of bytes to blocks of whole lines, each block in one encoding (decoding it is the reader's:
    what its fast lane reads as bytes is never decoded). A line ends at LF, as the standard says; the CR
    before it stays and reads as a blank."""

    def __init__(self) -> None:
        self.file_encoding: str | None = None
        self.seen: set[str] = set()
        self.started = False

    @property
    def encoding(self) -> str:
        """ "ascii", "cp437", "utf-8", or "mixed" (a UTF-8 file with some CP437 lines)."""
        return "mixed" if len(self.seen) > 1 else next(iter(self.seen), "ascii")

    def blocks(self, pieces: Iterable[bytes]) -> Iterator[tuple[str, bytes]]:
        """``(encoding, lines)``: whole lines, each ending with a LF, that decode in ``encoding`` ("ascii",
        "cp437" or "utf-8"); a UTF-8 byte order mark at the start is left out. A block ends after a line
        that starts with ``}`` when it can: whole vouchers are what the reader's fast lane reads."""
        rest = b""
        for piece in pieces:
            data = rest + piece if rest else bytes(piece)
            cut = data.rfind(b"\n") + 1
            brace = data.rfind(b"\n}", 0, cut - 1)
            if brace >= 0:
                cut = data.index(b"\n", brace + 1) + 1
            rest = data[cut:]
            if cut:
                yield from self._start(data[:cut])
        if rest:
            yield from self._start(rest + b"\n")

    def _start(self, block: bytes) -> Iterator[tuple[str, bytes]]:
        for encoding, lines in self._classify(block):
            if not self.started:
                self.started = True
                if encoding == "utf-8":
                    lines = lines.removeprefix(b"\xef\xbb\xbf")  # a byte order mark
            yield encoding, lines

    def _classify(self, block: bytes) -> Iterator[tuple[str, bytes]]:
        if block.isascii():
            yield "ascii", block
            return
        if self.file_encoding is None:
            line = next(line for line in block.split(b"\n") if not line.isascii())
            try:
                line.decode("utf-8")
                self.file_encoding = "utf-8"
            except UnicodeDecodeError:
                self.file_encoding = "cp437"
        if self.file_encoding == "utf-8":
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                yield from self._lines(block)
                return
        self.seen.add(self.file_encoding)
        yield self.file_encoding, block

    def _lines(self, block: bytes) -> Iterator[tuple[str, bytes]]:
        """A UTF-8 file with some lines that are not: each of those is read as CP437."""
        for line in block.split(b"\n")[:-1]:
            try:
                line.decode("utf-8")
                encoding = "utf-8"
            except UnicodeDecodeError:
                encoding = "cp437"
            if not line.isascii():
                self.seen.add(encoding)
            yield encoding, line + b"\n"


def unquote(token: str, line: int) -> str:
    """A field's value: without its quotes, ``\\"`` as ``"``."""
    if token[0] != '"':
        return token
    if len(token) == 1:
        raise SieError(line, "a quoted field is not closed", 'close it with " or write a quote as \\"')
    token = token[1:-1]
    return token.replace('\\"', '"') if '\\"' in token else token


def parse_date(token: str, line: int, what: str) -> date:
    text = unquote(token, line)
    if len(text) == 8 and text.isascii() and text.isdigit():
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
    raise SieError(line, f"{what} {text!r} is not a date", "dates are written YYYYMMDD")


def parse_amount(token: str, line: int) -> Decimal:
    text = unquote(token, line)
    if _AMOUNT.fullmatch(text) is None:
        raise SieError(
            line,
            f"{text!r} is not an amount",
            "amounts have a point as decimal separator, at most two decimals and no plus sign",
        )
    return Decimal(text)


def parse_quantity(token: str | None, line: int) -> Decimal | None:
    text = unquote(token, line) if token else ""
    if not text:
        return None
    if _QUANTITY.fullmatch(text) is None:
        raise SieError(line, f"quantity {text!r} is not a number", "write it like 1.75 or -2")
    return Decimal(text)


def parse_account(token: str, line: int) -> int:
    text = unquote(token, line)
    if not (text.isascii() and text.isdigit()):
        raise SieError(line, f"account {text!r} is not an account number", "accounts are numeric")
    return int(text)


def parse_year(token: str, line: int) -> int:
    text = unquote(token, line)
    if text.isascii() and text.lstrip("-").isdigit() and text.count("-") <= 1:
        return int(text)
    raise SieError(line, f"year {text!r} is not a year number", "0 is this year, -1 the previous one")


def parse_objects(tokens: list[str], start: int, line: int) -> tuple[Objects, int]:
    """The object list opening at ``tokens[start]`` (none if it is not a brace) and the index after it."""
    if start >= len(tokens) or tokens[start] != "{":
        return (), start
    try:
        end = tokens.index("}", start + 1)
    except ValueError:
        raise SieError(line, "an object list is not closed", "close it with }") from None
    return object_pairs(tokens[start + 1 : end], line), end + 1


def object_pairs(tokens: list[str], line: int) -> Objects:
    """``1 "KS1" 6 "P7"`` (as tokens) to ``(("1", "KS1"), ("6", "P7"))``."""
    members = [unquote(token, line) for token in tokens]
    if len(members) % 2 or "{" in tokens:
        raise SieError(
            line, "an object list must hold pairs of dimension and object", 'e.g. {1 "KS1" 6 "P7"}'
        )
    return tuple(zip(members[::2], members[1::2], strict=True))
