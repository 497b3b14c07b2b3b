"""The receipt printer: real-time status (DLE EOT) and the day-close slip after each Z-report.

python-escpos renders (into ``Dummy``, so a slip's bytes are made once and sent in one write) and
queries status through :class:`PortPrinter`, an ``Escpos`` on a port we opened with ``serial_for_url``
(python-escpos's own ``Serial`` opens ``serial.Serial`` itself, which cannot take a URL). Status is read
one byte per query with a short timeout: silence is "unknown", never "ok".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import serial
from escpos.constants import RT_STATUS_ONLINE, RT_STATUS_PAPER
from escpos.escpos import Escpos
from escpos.printer import Dummy

from exporters.core.money import format_sek
from pos_bridge.spool import Clock, Spool, ZRow, utc_now

log = logging.getLogger(__name__)
RT_STATUS_CAUSE = b"\x10\x04\x02"
RT_STATUS_ERROR = b"\x10\x04\x03"
PAYMENT_NAMES = {
    "cash": "Kontant",
    "card": "Kort",
    "swish": "Swish",
    "gift_card": "Presentkort",
    "invoice": "Faktura",
}


@dataclass(frozen=True)
class PrinterStatus:
    """``state``: ok, near_end, paper_out, cover_open, offline, error or unknown (no answer)."""

    state: str
    detail: str = ""

    @property
    def printable(self) -> bool:
        return self.state in ("ok", "near_end")


def _valid(reply: bytes) -> int | None:
    """The status byte, if the reply is one byte of the form 0xx1xx10 that every DLE EOT answer has."""
    if len(reply) != 1 or reply[0] & 0x93 != 0x12:
        return None
    return reply[0]


class PortPrinter(Escpos):
    """python-escpos on an already open pyserial port (a tty, a pty or ``socket://``)."""

    def __init__(self, port: serial.SerialBase, status_timeout: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.port = port
        self.status_timeout = port.timeout if status_timeout is None else status_timeout

    def _raw(self, msg: bytes) -> None:
        self.port.write(msg)
        self.port.flush()

    def _read(self) -> bytes:
        # One byte: python-escpos 3.1's Serial reads 16 and so always waits the whole timeout.
        if self.port.timeout == self.status_timeout:
            return self.port.read(1)
        previous, self.port.timeout = self.port.timeout, self.status_timeout
        try:
            return self.port.read(1)
        finally:
            self.port.timeout = previous

    def close(self) -> None:
        self.port.close()

    def _query(self, mode: bytes) -> int | None:
        self.port.reset_input_buffer()
        return _valid(self.query_status(mode))

    def _error_detail(self) -> str:
        error = self._query(RT_STATUS_ERROR)
        if error is None:
            return "the printer reports an error (no answer to DLE EOT 3)"
        kinds = [
            name
            for bit, name in ((0x08, "auto-cutter"), (0x20, "unrecoverable"), (0x40, "auto-recoverable"))
            if error & bit
        ]
        return f"the printer reports an error: {', '.join(kinds) or 'unspecified'}"

    def status(self) -> PrinterStatus:
        """Ask DLE EOT 1, then 4 (paper) and, when offline, 2 (why) and 3 (which error). Stops at the
        first silence."""
        try:
            printer = self._query(RT_STATUS_ONLINE)
            if printer is None:
                return PrinterStatus("unknown", "no answer to DLE EOT 1")
            paper = self._query(RT_STATUS_PAPER)
            if paper is None:
                return PrinterStatus("unknown", "no answer to DLE EOT 4")
            if printer & 0x08:
                cause = self._query(RT_STATUS_CAUSE)
                if cause is None:
                    return PrinterStatus("unknown", "offline, no answer to DLE EOT 2")
                if cause & 0x04:
                    return PrinterStatus("cover_open", "the cover is open")
                if cause & 0x20 or paper & 0x60 == 0x60:
                    return PrinterStatus("paper_out", "out of paper")
                if cause & 0x40:
                    return PrinterStatus("error", self._error_detail())
                return PrinterStatus("offline", "the printer is offline")
            if paper & 0x60 == 0x60:
                return PrinterStatus("paper_out", "out of paper")
            if paper & 0x0C == 0x0C:
                return PrinterStatus("near_end", "paper is running out")
            return PrinterStatus("ok")
        except (serial.SerialException, OSError) as exc:
            return PrinterStatus("unknown", f"printer port: {exc}")


def render_slip(z: ZRow, upload_state: str, reprint: bool) -> bytes:
    """The day-close slip of one Z-report, as ESC/POS bytes."""
    printer = Dummy()
    printer.hw("INIT")
    printer.set(align="center", bold=True, double_height=True)
    printer.textln("DAGSAVSLUT")
    if reprint:
        printer.textln("OMUTSKRIFT")
    printer.set_with_default(align="center")
    body = z.body or {}
    if body.get("company_name"):
        printer.textln(body["company_name"])
    if body.get("org_number"):
        printer.textln(f"Org.nr {body['org_number']}")
    printer.set_with_default()
    printer.textln("-" * 42)
    register = body.get("register", {}).get("id", "?")
    printer.textln(_line("Kassa", register))
    printer.textln(_line("Z-nummer", str(z.z_number if z.z_number is not None else "?")))
    printer.textln(_line("Datum", body.get("business_date", "?")))
    if body:
        printer.textln("-" * 42)
        for payment in body["payments"]:
            name = PAYMENT_NAMES.get(payment["method"], payment["method"])
            printer.textln(_line(name, _kr(Decimal(payment["amount"]))))
        for tip in body.get("tips", []):
            name = PAYMENT_NAMES.get(tip["method"], tip["method"])
            printer.textln(_line(f"  varav dricks {name.lower()}", _kr(Decimal(tip["amount"]))))
        total = sum((Decimal(p["amount"]) for p in body["payments"]), Decimal("0.00"))
        printer.textln(_line("Öresavrundning", _kr(Decimal(body["rounding"]))))
        printer.set(bold=True)
        printer.textln(_line("Summa betalningar", _kr(total)))
        printer.set(bold=False)
    printer.textln("-" * 42)
    printer.set(bold=True)
    printer.textln(
        {
            "sent": "Skickad till BackOffice (sent)",
            "pending": "I kö, skickas senare (queued)",
            "conflict": "KONFLIKT: annan Z-rapport med samma nr",
            "rejected": "AVVISAD (rejected)",
        }[upload_state]
    )
    printer.set(bold=False)
    for error in z.errors[:3]:
        printer.textln(f"{error.get('field')}: {error.get('message')}"[:126])
    printer.cut()
    return printer.output


def _kr(amount: Decimal) -> str:
    # Code page 437 has no minus sign (U+2212); the hyphen prints everywhere.
    return format_sek(amount).replace("−", "-")


def _line(label: str, value: str, width: int = 42) -> str:
    return f"{label}{value.rjust(width - len(label))}"


class PrinterService:
    """Prints each Z-report's slip once the upload has been tried (so it can say sent or queued), and
    keeps it pending while the printer cannot print; a slip the printer lost mid-way is printed again."""

    def __init__(
        self,
        printer: PortPrinter,
        spool: Spool,
        clock: Clock = utc_now,
        wait_for_upload: timedelta = timedelta(seconds=60),
    ) -> None:
        self.printer = printer
        self.spool = spool
        self.clock = clock
        self.wait_for_upload = wait_for_upload
        self.last_status: PrinterStatus | None = None

    def _note(self, status: PrinterStatus) -> None:
        if status != self.last_status and not status.printable:
            log.warning(
                "printer cannot print (%s: %s); the day-close slip waits", status.state, status.detail
            )
        self.last_status = status

    def work_once(self) -> int:
        """Print what is due; return how many slips went on paper."""
        printed = 0
        for slip_id, z, times_printed in self.spool.slips_due():
            tried = z.state != "pending" or z.attempts > 0
            if not tried and self.clock() - z.received_at < self.wait_for_upload:
                continue
            before = self.printer.status()
            self._note(before)
            if not before.printable:
                self.spool.mark_slip(slip_id, "pending", before.state, printed=False)
                return printed
            data = render_slip(z, z.state, reprint=times_printed > 0)
            try:
                self.printer._raw(data)
            except (serial.SerialException, OSError) as exc:
                self._note(PrinterStatus("unknown", str(exc)))
                self.spool.mark_slip(slip_id, "pending", "unknown", printed=False)
                return printed
            after = self.printer.status()
            self._note(after)
            if not after.printable:
                # The bytes went out but the printer stopped: the slip may be lost; print it again.
                self.spool.mark_slip(slip_id, "pending", after.state, printed=True)
                return printed
            self.spool.mark_slip(slip_id, "printed", after.state, printed=True)
            printed += 1
            log.info("day-close slip for Z %s printed (%s)", z.z_number, z.state)
        return printed
