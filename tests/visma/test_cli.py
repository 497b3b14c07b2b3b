"""``dagskassa visma-sandbox`` serves the sandbox and prints where."""

from __future__ import annotations

import subprocess
import sys

import httpx


def test_visma_sandbox_command_serves_the_ledger() -> None:
    command = [sys.executable, "-m", "config.cli", "visma-sandbox", "--port", "0", "--no-rate-limit"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("Visma sandbox on http://127.0.0.1:")
        base = first.split()[-1]
        ledger = httpx.get(f"{base}/_sandbox/ledger.json", timeout=10).json()
        assert [company["name"] for company in ledger] == ["Exempelkrogen AB", "Kaffebaren i Umeå AB"]
        assert httpx.get(f"{base}/v2/vouchers", timeout=10).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
