"""Pseudo-terminals for the simulated register and printer: the simulator owns the master end, the bridge
opens the slave path (``/dev/pts/N``) with ``serial_for_url`` exactly as it would open ``/dev/ttyUSB0``."""

from __future__ import annotations

import contextlib
import os
import select
import tty


class PtyEnd:
    """The master end of a fresh pseudo-terminal, with the small read/write surface a serial port has.

    The slave end stays open here too, so the terminal survives the bridge closing it (or being killed)
    and bytes written meanwhile wait for the next bridge to read them, as on a real serial line.
    """

    def __init__(self, timeout: float = 0.1) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.timeout = timeout

    def read(self, size: int = 1, timeout: float | None = None) -> bytes:
        wait = self.timeout if timeout is None else timeout
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return b""
        try:
            return os.read(self.master, size)
        except OSError:
            return b""

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            written = os.write(self.master, view)
            view = view[written:]
        return len(data)

    def close(self) -> None:
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
