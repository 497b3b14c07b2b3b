"""A simulated ESC/POS receipt printer on a pseudo-terminal.

It answers DLE EOT 1-4 like an Epson-compatible printer and keeps what it printed as text. Knobs: paper
(ok, near_end, out), cover_open, offline, error, silent (answers nothing), and paper_left (characters of text
until the paper runs out mid-job). While it cannot print it drops what it is sent, as a printer whose
buffer overflows would, so a slip sent at such a time is lost unless the bridge prints it again.
"""

from __future__ import annotations

import threading

from pos_bridge.escpos_text import Incomplete, next_token
from pos_bridge.ptys import PtyEnd


class PrinterSim:
    def __init__(self, end: PtyEnd | None = None) -> None:
        self.end = end or PtyEnd(timeout=0.05)
        self.path = self.end.path
        self.paper = "ok"
        self.cover_open = False
        self.offline = False
        self.silent = False
        #: None, or the error DLE EOT 3 reports: "cutter", "unrecoverable" or "recoverable".
        self.error: str | None = None
        self.paper_left: int | None = None
        self.printed: list[str] = []
        self.lost_bytes = 0
        self.status_queries = 0
        self._lock = threading.Lock()
        self._buffer = b""
        self._codec = "cp437"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="printer-sim", daemon=True)

    def start(self) -> PrinterSim:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.end.close()

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self.printed)

    @property
    def can_print(self) -> bool:
        return self.paper != "out" and not self.cover_open and not self.offline and self.error is None

    def status_byte(self, n: int) -> int:
        """The answer to DLE EOT n (every answer has the fixed bits 0xx1xx10)."""
        value = 0x12
        if n == 1 and not self.can_print:
            value |= 0x08
        elif n == 2:
            value |= (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)
            value |= 0x40 if self.error else 0
        elif n == 3:
            value |= {None: 0, "cutter": 0x08, "unrecoverable": 0x20, "recoverable": 0x40}[self.error]
        elif n == 4:
            value |= {"ok": 0, "near_end": 0x0C, "out": 0x6C}[self.paper]
        return value

    def feed(self, data: bytes) -> None:
        """Process bytes as the printer receives them."""
        self._buffer += data
        position = 0
        while position < len(self._buffer):
            try:
                token, position, self._codec = next_token(self._buffer, position, self._codec)
            except Incomplete:
                break
            if token.kind == "status":
                self.status_queries += 1
                if not self.silent:
                    self.end.write(bytes([self.status_byte(token.value)]))
            elif token.kind in ("text", "newline", "cut"):
                self._print("\n\f\n" if token.kind == "cut" else token.value)
        self._buffer = self._buffer[position:]

    def _print(self, text: str) -> None:
        if not self.can_print:
            self.lost_bytes += len(text)
            return
        if self.paper_left is not None:
            if len(text) > self.paper_left:
                text, self.lost_bytes = text[: self.paper_left], self.lost_bytes + len(text) - self.paper_left
                self.paper = "out"
            self.paper_left -= len(text)
        with self._lock:
            self.printed.append(text)

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.end.read(4096)
            if data:
                self.feed(data)
