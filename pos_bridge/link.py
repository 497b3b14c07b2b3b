"""The register end of DKL/1: read frames from the serial port, spool them, then ACK (or NAK)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from pos_bridge import dkl1
from pos_bridge.spool import SeqReused, Spool

log = logging.getLogger(__name__)

#: Called with the name of a point in the bridge's work (``stored:<message type>``: in the spool, not yet
#: ACKed; ``uploaded``: the BackOffice answered, not yet marked sent); crash tests hold the bridge there.
Checkpoint = Callable[[str], None]


def no_checkpoint(point: str) -> None:
    return None


class RegisterLink:
    """One register on one port. ``handle_line`` is the whole protocol; ``serve`` feeds it from the port."""

    def __init__(
        self,
        port: serial.SerialBase,
        spool: Spool,
        checkpoint: Checkpoint = no_checkpoint,
        on_acked: Callable[[float, float], None] | None = None,
    ) -> None:
        self.port = port
        self.spool = spool
        self.checkpoint = checkpoint
        self.on_acked = on_acked
        hello = spool.last_hello()
        self.identity = dkl1.Identity.from_hello(hello) if hello else None

    def handle_line(self, line: bytes) -> dict[str, Any]:
        """The reply to one received line: an ACK once the message is on disk, else a NAK with the reason."""
        try:
            message = dkl1.decode_frame(line)
            return self._handle(message)
        except dkl1.FrameError as exc:
            log.warning("register frame refused (%s): %s", exc.reason, exc.detail)
            return dkl1.nak(exc)

    def _handle(self, message: dict[str, Any]) -> dict[str, Any]:
        seq = message["seq"]
        if message["type"] == "ping":
            return dkl1.ack(seq, pong=True)
        if message["type"] == "hello":
            identity = dkl1.Identity.from_hello(message)
        elif self.identity is None:
            raise dkl1.FrameError("hello_first", "no hello from this register yet", seq)
        else:
            identity = self.identity
        build = (lambda m: dkl1.z_report_json(identity, m)) if message["type"] == "z_report" else None
        try:
            stored = self.spool.store_message(identity.session, message, build)
        except SeqReused as exc:
            raise dkl1.FrameError("seq_reused", f"seq {seq} was used for another message", seq) from exc
        except sqlite3.Error as exc:
            log.error("spool write failed, register must resend seq %s: %s", seq, exc)
            raise dkl1.FrameError("storage", str(exc), seq) from exc
        self.identity = identity
        if not stored.duplicate:
            self.checkpoint(f"stored:{message['type']}")
        extra: dict[str, Any] = {}
        if message["type"] == "z_report":
            extra = {"z_number": message.get("z_number"), "z_report": stored.z_state}
            if stored.problems:
                extra["problems"] = [p.to_dict() for p in stored.problems]
                log.error(
                    "Z-report %s from the register is invalid, kept as rejected: %s",
                    message.get("z_number"),
                    "; ".join(str(p) for p in stored.problems),
                )
            elif not stored.duplicate:
                log.info("Z-report %s stored, queued for the BackOffice", message.get("z_number"))
        return dkl1.ack(seq, **extra)

    def serve(self, stop: threading.Event) -> None:
        """Read and answer frames until ``stop`` is set. The port should have a short read timeout."""
        buffer = b""
        while not stop.is_set():
            chunk = self.port.read(max(1, self.port.in_waiting))
            if not chunk:
                continue
            buffer += chunk
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                received = time.perf_counter()
                if not line.strip():
                    continue
                reply = self.handle_line(line)
                self.port.write(dkl1.encode_frame(reply))
                if self.on_acked is not None:
                    self.on_acked(received, time.perf_counter())
            if len(buffer) > dkl1.MAX_FRAME_BYTES:
                log.warning("register sent %d bytes without a line end; discarded", len(buffer))
                self.port.write(dkl1.encode_frame(dkl1.nak(dkl1.FrameError("too_long", "no line end"))))
                buffer = b""
