"""The SIE package's errors, both in the shared tree (``exporters.core.errors``) under ``FixData``.

FixData
 ├── SieError          a SIE file breaks the format; .line is the 1-based line number (0: the file)
 └── ChannelConflict   days would be booked through both the API and a SIE file; .days lists them
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from exporters.core.errors import FixData


class SieError(FixData):
    """A SIE file the reader cannot take as it is. The message starts with the line number."""

    def __init__(self, line: int, message: str, fix: str = "") -> None:
        self.line = line
        self.reason = message
        where = f"line {line}: " if line else ""
        super().__init__(where + message, fix or "correct the file in the program that wrote it")


class ChannelConflict(FixData):
    """A day may reach the books through one channel only (DESIGN.md section 7, layer 1)."""

    def __init__(self, message: str, days: Iterable[date], fix: str) -> None:
        self.days = tuple(sorted(set(days)))
        listed = ", ".join(day.isoformat() for day in self.days)
        super().__init__(f"{message}: {listed}", fix)
