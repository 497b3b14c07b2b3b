"""The print-stream adapter, for registers that only print.

It sits on the line between the register and its printer: every byte goes on to the printer at once (and
the printer's status answers back to the register), so the register notices nothing. The stream is cut
into print jobs at each paper cut (or after a pause); every job's raw bytes are kept in the spool, and a
job that the print template (``print_template.py``) recognises as a Z-dagrapport becomes a Z-report,
pending or rejected like one from DKL/1. Between jobs it prints the day-close slip on the same printer.
"""

from __future__ import annotations

import logging
import threading
import time

import serial

from pos_bridge.escpos_text import Incomplete, next_token, to_text
from pos_bridge.link import Checkpoint, no_checkpoint
from pos_bridge.print_template import Template
from pos_bridge.printer import PortPrinter, PrinterService
from pos_bridge.spool import Spool, Stored

log = logging.getLogger(__name__)


class PrintTap:
    """Between a print-only register and its printer: pass everything through, keep every job, read Z."""

    def __init__(
        self,
        register: serial.SerialBase,
        printer: serial.SerialBase | None,
        spool: Spool,
        template: Template,
        checkpoint: Checkpoint = no_checkpoint,
        idle_seconds: float = 1.0,
        status_timeout: float = 0.3,
    ) -> None:
        self.register = register
        self.printer = printer
        self.spool = spool
        self.template = template
        self.checkpoint = checkpoint
        self.idle_seconds = idle_seconds
        self.job = b""
        self._scanned = 0
        self._codec = template.encoding
        self.slips = PrinterService(PortPrinter(printer, status_timeout), spool) if printer else None

    def feed(self, data: bytes) -> list[Stored]:
        """Bytes from the register: on to the printer, then into the current job; each cut ends a job."""
        if self.printer is not None:
            self.printer.write(data)
        self.job += data
        finished = []
        while self._scanned < len(self.job):
            try:
                token, self._scanned, self._codec = next_token(self.job, self._scanned, self._codec)
            except Incomplete:
                break
            if token.kind == "cut":
                finished.append(self.end_job(self.job[: self._scanned]))
                self.job, self._scanned = self.job[self._scanned :], 0
        return finished

    def flush(self) -> Stored | None:
        """End the current job without a cut (the register paused)."""
        if not self.job.strip(b"\x00\r\n "):
            self.job, self._scanned = b"", 0
            return None
        stored = self.end_job(self.job)
        self.job, self._scanned = b"", 0
        return stored

    def end_job(self, raw: bytes) -> Stored:
        text = to_text(raw, self.template.encoding)
        is_z = self.template.is_z_report(text)
        stored = self.spool.store_print_job(raw, text, self.template.z_report if is_z else None)
        if is_z:
            self.checkpoint("stored:print_job")
            if stored.problems:
                log.error(
                    "Z-dagrapport printout kept but not readable: %s",
                    "; ".join(str(p) for p in stored.problems),
                )
            else:
                log.info("Z-dagrapport read from the print stream, queued for the BackOffice")
        return stored

    def serve(self, stop: threading.Event) -> None:
        last_byte = time.monotonic()
        while not stop.is_set():
            data = self.register.read(max(1, self.register.in_waiting))
            if data:
                self.feed(data)
                last_byte = time.monotonic()
            if self.printer is not None and self.printer.in_waiting:
                self.register.write(self.printer.read(self.printer.in_waiting))
            if not data and time.monotonic() - last_byte > self.idle_seconds:
                self.flush()
                if self.slips is not None:
                    self.slips.work_once()
                last_byte = time.monotonic()
