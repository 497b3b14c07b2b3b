"""The commands as a store (and the demo) runs them: printer-sim, register-sim, bridge enroll, bridge,
bridge status — each a separate process, the stand-in BackOffice on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.pos_bridge.test_end_to_end import ROOT, wait_for


def dagskassa(*args: str, settings=None, **popen) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DAGSKASSA_")}
    if settings is not None:
        for field in dataclasses.fields(settings):
            env[f"DAGSKASSA_BRIDGE_{field.name.upper()}"] = str(getattr(settings, field.name))
    return subprocess.Popen([sys.executable, "-m", "config.cli", *args], cwd=ROOT, env=env, **popen)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    process.communicate(timeout=20)


def test_two_days_through_the_commands(tmp_path, bridge_settings, backoffice):
    printer_path, register_path = tmp_path / "printer.path", tmp_path / "register.path"
    printed = tmp_path / "printed.txt"
    printer = dagskassa("printer-sim", "--path-file", str(printer_path), "--output", str(printed))
    register = dagskassa(
        "register-sim",
        *("--days", "2", "--sales", "15", "--speed", "0", "--path-file", str(register_path)),
        stdout=subprocess.PIPE,
        text=True,
    )
    bridge = None
    try:
        wait_for(lambda: printer_path.exists() and register_path.exists(), "the simulators' paths")
        settings = dataclasses.replace(
            bridge_settings,
            register_url=register_path.read_text().strip(),
            printer_url=printer_path.read_text().strip(),
        )
        enroll = dagskassa(
            *(
                "bridge",
                "enroll",
                "--code",
                "ENROLL-1",
                "--register-id",
                "Kassa 1",
                "--control-unit-id",
                "CU-1",
            ),
            settings=settings,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert "enrolled as register Kassa 1" in enroll.communicate(timeout=30)[0]
        bridge = dagskassa("bridge", settings=settings, stderr=subprocess.DEVNULL)
        output, _ = register.communicate(timeout=60)
        assert register.returncode == 0
        assert output.splitlines()[-2:] == ["Z 1 2026-11-20: pending", "Z 2 2026-11-21: pending"]
        wait_for(lambda: backoffice.app.created == 2, "both days at the BackOffice")
        wait_for(lambda: printed.exists() and printed.read_text().count("(sent)") == 2, "two slips")
        status = dagskassa("bridge", "status", settings=settings, stdout=subprocess.PIPE, text=True)
        report = json.loads(status.communicate(timeout=30)[0])
        assert status.returncode == 0
        assert report["z_reports"] == {"pending": 0, "sent": 2, "conflict": 0, "rejected": 0}
        assert report["enrolled"] is True and report["alert"] is None
        assert report["day_close_slips"] == {"waiting": 0, "printer": "ok"}
    finally:
        for process in (bridge, register, printer):
            if process is not None:
                stop(process)
    assert sorted(backoffice.app.reports) == [("Kassa 1", 1), ("Kassa 1", 2)]
    assert Path(settings.token_path).stat().st_mode & 0o777 == 0o600


def test_a_printing_register_through_the_commands(tmp_path, bridge_settings, backoffice):
    printer_path, register_path = tmp_path / "printer.path", tmp_path / "register.path"
    printed = tmp_path / "printed.txt"
    printer = dagskassa("printer-sim", "--path-file", str(printer_path), "--output", str(printed))
    register = dagskassa(
        "register-sim",
        *(
            "--print",
            "--sales",
            "10",
            "--speed",
            "0",
            "--start-delay",
            "3",
            "--path-file",
            str(register_path),
        ),
        "--stay",
        stdout=subprocess.DEVNULL,
    )
    bridge = None
    try:
        wait_for(lambda: printer_path.exists() and register_path.exists(), "the simulators' paths")
        settings = dataclasses.replace(
            bridge_settings,
            register_protocol="print_stream",
            register_url=register_path.read_text().strip(),
            printer_url=printer_path.read_text().strip(),
        )
        bridge = dagskassa("bridge", settings=settings, stderr=subprocess.DEVNULL)
        wait_for(
            lambda: printed.exists() and "Z-DAGRAPPORT" in printed.read_text(), "the printout at the printer"
        )
        assert printed.read_text().count("Kvitto ") == 11
        enroll = dagskassa(
            *("bridge", "enroll", "--code", "ENROLL-1", "--register-id", "Kassa 1"),
            *("--control-unit-id", "CU-0001-2345"),
            settings=settings,
        )
        assert enroll.wait(timeout=30) == 0
        wait_for(lambda: backoffice.app.created == 1, "the Z-report read from the print stream")
    finally:
        for process in (bridge, register, printer):
            if process is not None:
                stop(process)
    assert backoffice.app.reports["Kassa 1", 1]["report"]["payments"]
