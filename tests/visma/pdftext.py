"""Read back the text of a PDF written by exporters.zreport_pdf: its objects through the xref table (so
the offsets are checked too), each page's content stream, and the strings shown with ``Tj``, decoded from
WinAnsiEncoding. Lines are the cells sharing a baseline, left to right."""

from __future__ import annotations

import re
from collections import defaultdict

_STRING = re.compile(rb"(\d+(?:\.\d+)?) Tm \(((?:\\.|[^\\)])*)\) Tj")
_ESCAPE = re.compile(rb"\\(.)")


def objects(pdf: bytes) -> dict[int, bytes]:
    """Every object by number, found at the offset the xref table gives for it."""
    start = int(pdf[pdf.rindex(b"startxref") + 9 :].split()[0])
    assert pdf[start:].startswith(b"xref")
    header, *entries = pdf[start:].split(b"trailer")[0].splitlines()[1:]
    first, count = map(int, header.split())
    found = {}
    for number, entry in enumerate(entries[1:count], start=first + 1):
        offset = int(entry.split()[0])
        assert pdf[offset:].startswith(b"%d 0 obj" % number), f"xref offset of object {number} is wrong"
        found[number] = pdf[offset : pdf.index(b"endobj", offset)]
    return found


def page_lines(pdf: bytes) -> list[list[str]]:
    """The text of each page as lines of cells."""
    found = objects(pdf)
    pages = []
    for body in found.values():
        if b"/Type /Page " not in body:
            continue
        contents = int(re.search(rb"/Contents (\d+) 0 R", body).group(1))
        stream = found[contents]
        length = int(re.search(rb"/Length (\d+)", stream).group(1))
        data = stream[stream.index(b"stream\n") + 7 :][:length]
        rows: dict[float, list[str]] = defaultdict(list)
        for y, raw in _STRING.findall(data):
            rows[float(y)].append(_ESCAPE.sub(rb"\1", raw).decode("cp1252"))
        pages.append([" | ".join(cells) for _, cells in sorted(rows.items(), reverse=True)])
    return pages
