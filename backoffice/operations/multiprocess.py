"""prometheus-client's multiprocess mode for ``dagskassa serve``: the web workers, the export workers and
the scheduler are separate processes, and each writes its counters to files in one directory that the
web's /metrics adds up.

prometheus-client chooses the mode when it is first imported (``PROMETHEUS_MULTIPROC_DIR``), so
:func:`start_multiprocess` runs before anything imports it; the processes serve starts inherit the
variable. A ``dagskassa worker`` started by hand on the same machine joins by setting the same variable.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"


def start_multiprocess(directory: str) -> Path:
    """Empty ``directory`` of the last run's counter files and point this process (and every process it
    starts) at it. Only ``*.db`` files are removed: the directory is named by a setting."""
    if "prometheus_client" in sys.modules and ENV not in os.environ:
        log.warning("prometheus_client was imported before %s was set: this process counts alone", ENV)
    path = Path(directory).resolve()
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[ENV] = str(path)
    return path
