"""The running bridge: the register link (or the print-stream adapter), the printer and the uploader,
each in its own thread with its own spool connection, all from the ``bridge`` settings.

A device that is missing or fails is opened again every few seconds; nothing is lost meanwhile, because
the register keeps resending what was not ACKed and the spool keeps what was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
import serial

from config.settings import BridgeSettings, ensure_parent_dir
from pos_bridge.link import Checkpoint, RegisterLink, no_checkpoint
from pos_bridge.printer import PortPrinter, PrinterService
from pos_bridge.spool import Clock, Spool, utc_now
from pos_bridge.uploader import Uploader

log = logging.getLogger(__name__)
REOPEN_SECONDS = 2.0


def open_port(url: str, baudrate: int, timeout: float) -> serial.SerialBase:
    """Open a device by URL: a tty (``/dev/ttyUSB0``), a pty path, ``socket://host:port`` or ``rfc2217://``.

    ``exclusive`` takes a lock on a tty, so a second bridge (or a stale one) cannot read the same line and
    steal half of the register's bytes.
    """
    return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=5, exclusive=True)


class Bridge:
    def __init__(
        self,
        settings: BridgeSettings,
        clock: Clock = utc_now,
        checkpoint: Checkpoint = no_checkpoint,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.checkpoint = checkpoint
        self.client = client or httpx.Client(base_url=settings.backoffice_url, timeout=15.0)
        ensure_parent_dir(settings.spool_path)
        Spool(settings.spool_path, clock).close()  # create the schema before the threads race for it
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> Bridge:
        jobs: list[tuple[str, Callable[[], None]]] = [("uploader", self._uploader)]
        if self.settings.register_url:
            register = self._tap if self.settings.register_protocol == "print_stream" else self._register
            jobs.append(("register", register))
        else:
            log.warning("bridge.register_url is empty: no register is read")
        if self.settings.printer_url and self.settings.register_protocol == "dkl1":
            jobs.append(("printer", self._printer))
        for name, job in jobs:
            thread = threading.Thread(target=self._guard, args=(name, job), name=name, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.client.close()

    def _guard(self, name: str, job: Callable[[], None]) -> None:
        """Run a job until stop; a failing device is logged and opened again."""
        while not self.stop.is_set():
            try:
                job()
            except (serial.SerialException, OSError) as exc:
                log.warning("%s: device problem (%s); opening it again in %.0f s", name, exc, REOPEN_SECONDS)
            except Exception:
                log.exception("%s stopped by an error; restarting it in %.0f s", name, REOPEN_SECONDS)
            self.stop.wait(REOPEN_SECONDS)

    def _spool(self) -> Spool:
        return Spool(self.settings.spool_path, self.clock)

    def _register(self) -> None:
        spool = self._spool()
        port = open_port(self.settings.register_url, self.settings.baudrate, timeout=0.05)
        log.info("register link DKL/1 on %s", self.settings.register_url)
        try:
            RegisterLink(port, spool, self.checkpoint).serve(self.stop)
        finally:
            port.close()
            spool.close()

    def _tap(self) -> None:
        from pos_bridge.print_tap import PrintTap
        from pos_bridge.print_template import load_template

        spool = self._spool()
        template = load_template(self.settings.print_template_path or None)
        register = open_port(self.settings.register_url, self.settings.baudrate, timeout=0.05)
        printer = None
        try:
            if self.settings.printer_url:
                printer = open_port(self.settings.printer_url, self.settings.baudrate, timeout=0.05)
            log.info("print-stream adapter: %s -> %s", self.settings.register_url, self.settings.printer_url)
            PrintTap(
                register,
                printer,
                spool,
                template,
                checkpoint=self.checkpoint,
                status_timeout=self.settings.printer_status_timeout_seconds,
            ).serve(self.stop)
        finally:
            register.close()
            if printer is not None:
                printer.close()
            spool.close()

    def _printer(self) -> None:
        spool = self._spool()
        port = open_port(
            self.settings.printer_url,
            self.settings.baudrate,
            timeout=self.settings.printer_status_timeout_seconds,
        )
        service = PrinterService(PortPrinter(port), spool, self.clock)
        try:
            while not self.stop.is_set():
                service.work_once()
                self.stop.wait(1.0)
        finally:
            port.close()
            spool.close()

    def _uploader(self) -> None:
        spool = self._spool()
        uploader = Uploader(
            self.client,
            spool,
            self.settings.token_path,
            self.settings.status_path,
            alert_after=timedelta(minutes=self.settings.alert_after_minutes),
            clock=self.clock,
            backoff_max=timedelta(seconds=self.settings.upload_backoff_max_seconds),
            checkpoint=self.checkpoint,
        )
        try:
            uploader.serve(self.stop)
        finally:
            spool.close()
