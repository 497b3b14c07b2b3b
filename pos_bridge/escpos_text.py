"""Reading an ESC/POS byte stream back: the text it prints, where the paper is cut, and status queries.

Enough of ESC/POS to walk any receipt without printing command bytes as text: every command's arguments
are skipped by their length (bit images, barcodes and ``GS ( k`` QR data included), code pages switched
by ``ESC t`` decode the text, ``GS V`` is a cut and ``DLE EOT n`` a real-time status query.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
#: ESC t n -> Python codec. Epson numbering; Swedish registers print in CP437, CP850 or CP865.
CODE_PAGES = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    16: "cp1252",
    17: "cp866",
    19: "cp858",
}
# Fixed argument counts after the command letter.
_ESC_ARGS = {
    **dict.fromkeys(b"@2<LSim", 0),
    **dict.fromkeys(b"!-03=?EGJMRUVTadeftr{ %", 1),
    **dict.fromkeys(b"$\\B", 2),
    ord("p"): 3,
    ord("c"): 2,
    ord("W"): 8,
}
_GS_ARGS = {
    **dict.fromkeys(b"!BHIbfhwarE/T", 1),
    **dict.fromkeys(b"LWP$\\^:", 2),
}
_FS_ARGS = {**dict.fromkeys(b"&.", 0), **dict.fromkeys(b"!-CW", 1), ord("p"): 2}


@dataclass(frozen=True)
class Token:
    """``kind`` is text, newline, cut, status (``value`` is n of DLE EOT n) or command."""

    kind: str
    value: bytes | str | int


class Incomplete(Exception):
    """The stream ends inside a command; wait for more bytes."""


def _need(data: bytes, end: int) -> None:
    if end > len(data):
        raise Incomplete


def _command_length(data: bytes, i: int) -> int:
    """Length in bytes of the command starting at ``data[i]`` (an ESC, GS, FS or DLE)."""
    _need(data, i + 2)
    prefix, letter = data[i], data[i + 1]
    if prefix == DLE:
        if letter in (0x04, 0x05):
            return 3
        if letter == 0x14:
            return 5
        return 2
    if prefix == ESC:
        if letter == ord("*"):
            _need(data, i + 5)
            width = data[i + 3] + 256 * data[i + 4]
            return 5 + width * (3 if data[i + 2] in (32, 33) else 1)
        if letter == ord("D"):
            end = data.find(b"\x00", i + 2)
            if end < 0:
                raise Incomplete
            return end - i + 1
        return 2 + _ESC_ARGS.get(letter, 0)
    if prefix == GS:
        if letter == ord("V"):
            _need(data, i + 3)
            return 3 if data[i + 2] in (0, 1, 48, 49) else 4
        if letter == ord("k"):
            _need(data, i + 3)
            kind = data[i + 2]
            if kind <= 6:
                end = data.find(b"\x00", i + 3)
                if end < 0:
                    raise Incomplete
                return end - i + 1
            _need(data, i + 4)
            return 4 + data[i + 3]
        if letter == ord("("):
            _need(data, i + 5)
            return 5 + data[i + 3] + 256 * data[i + 4]
        if letter == ord("v"):
            _need(data, i + 8)
            return 8 + (data[i + 4] + 256 * data[i + 5]) * (data[i + 6] + 256 * data[i + 7])
        if letter == ord("*"):
            _need(data, i + 4)
            return 4 + data[i + 2] * data[i + 3] * 8
        return 2 + _GS_ARGS.get(letter, 0)
    if letter == ord("("):
        _need(data, i + 5)
        return 5 + data[i + 3] + 256 * data[i + 4]
    return 2 + _FS_ARGS.get(letter, 0)


def tokens(data: bytes, codec: str = "cp437") -> Iterator[Token]:
    """The tokens of a complete stream; a command cut off at the end is dropped."""
    position = 0
    while position < len(data):
        try:
            token, position, codec = next_token(data, position, codec)
        except Incomplete:
            return
        yield token


def next_token(data: bytes, i: int, codec: str) -> tuple[Token, int, str]:
    """One token from ``data[i:]``: (token, position after it, code page now); Incomplete at the end."""
    byte = data[i]
    if byte in (ESC, GS, FS, DLE):
        length = _command_length(data, i)
        _need(data, i + length)
        command = data[i : i + length]
        if byte == ESC and command[1] == ord("t"):
            codec = CODE_PAGES.get(command[2], codec)
        if byte == GS and command[1] == ord("V"):
            return Token("cut", command), i + length, codec
        if byte == ESC and command[1] in (ord("i"), ord("m")):
            return Token("cut", command), i + length, codec
        if byte == DLE and command[1] == 0x04:
            return Token("status", command[2]), i + length, codec
        return Token("command", command), i + length, codec
    if byte in (0x0A, 0x0C):
        return Token("newline", "\n"), i + 1, codec
    if byte < 0x20 or byte == 0x7F:
        return Token("command", bytes([byte])), i + 1, codec
    end = i
    while end < len(data) and data[end] >= 0x20 and data[end] != 0x7F and data[end] not in (ESC, GS, FS, DLE):
        end += 1
    return Token("text", data[i:end].decode(codec, errors="replace")), end, codec


def to_text(data: bytes, codec: str = "cp437") -> str:
    """The text a stream prints, one line per LF, trailing spaces removed."""
    parts = []
    for token in tokens(data, codec):
        if token.kind in ("text", "newline"):
            parts.append(token.value)
    return "\n".join(line.rstrip() for line in "".join(parts).split("\n"))
