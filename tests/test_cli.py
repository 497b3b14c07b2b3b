"""The `dagskassa` command as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tests.exporters.zreports import EXAMPLES, minimal_day

ROOT = Path(__file__).resolve().parents[1]
DAGSKASSA = Path(sys.executable).with_name("dagskassa")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DAGSKASSA), *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    assert "voucher" in result.stdout


def test_preview_as_json():
    result = run(
        "voucher", "preview",
        "--z-report", str(EXAMPLES / "z-report-restaurant.json"),
        "--mapping", str(EXAMPLES / "mapping-restaurant.json"),
        "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    voucher = json.loads(result.stdout)
    assert set(voucher) == {"description", "transaction_date", "rows"}
    assert voucher["transaction_date"] == "2026-03-14"
    assert set(voucher["rows"][0]) == {"account", "debit", "credit", "cost_center", "project", "text"}
    debit = sum(Decimal(row["debit"]) for row in voucher["rows"])
    credit = sum(Decimal(row["credit"]) for row in voucher["rows"])
    assert debit == credit == Decimal("15038.00")
    assert all(isinstance(row["debit"], str) for row in voucher["rows"])


def test_preview_as_table():
    result = run("voucher", "preview", "--z-report", str(EXAMPLES / "z-report-restaurant.json"),
                 "--mapping", str(EXAMPLES / "mapping-restaurant.json"))  # fmt: skip
    assert result.returncode == 0
    assert "15 038,00 kr" in result.stdout


def test_invalid_report_exits_2_with_every_error(tmp_path):
    data = minimal_day(currency="EUR")
    data["sales"][0]["vat_rate"] = "19"
    path = tmp_path / "z.json"
    path.write_text(json.dumps(data))
    result = run("voucher", "preview", "--z-report", str(path))
    assert result.returncode == 2
    assert "currency" in result.stderr and "sales[0].vat_rate" in result.stderr
    assert result.stdout == ""


def test_unmapped_key_exits_2(tmp_path):
    data = minimal_day(payments=[{"method": "lunch_voucher", "amount": "1250.00"}])
    path = tmp_path / "z.json"
    path.write_text(json.dumps(data))
    result = run("voucher", "preview", "--z-report", str(path))
    assert result.returncode == 2
    assert "lunch_voucher" in result.stderr


def test_unreadable_files_exit_2(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "not valid JSON" in run("voucher", "preview", "--z-report", str(broken)).stderr
    assert run("voucher", "preview", "--z-report", str(tmp_path / "none.json")).returncode == 2


def test_wrong_setting_stops_with_its_name():
    result = subprocess.run(
        [str(DAGSKASSA), "voucher", "preview", "--z-report", "x"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={"PATH": "/usr/bin:/bin", "DAGSKASSA_WEB_PORT": "x"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "DAGSKASSA_WEB_PORT" in result.stderr
