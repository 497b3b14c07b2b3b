"""``dagskassa notify`` as an operator runs it: a test mail through [smtp], and a dispatcher round."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DAGSKASSA = Path(sys.executable).with_name("dagskassa")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DAGSKASSA_")}
    return subprocess.run(
        [str(DAGSKASSA), *args], capture_output=True, text=True, cwd=ROOT, timeout=60, env={**clean, **env}
    )


def test_a_test_mail_reaches_the_smtp_server(mailbox, smtp_port):
    result = run(
        "notify",
        "test-mail",
        "ops@byra.se",
        DAGSKASSA_SMTP_HOST="127.0.0.1",
        DAGSKASSA_SMTP_PORT=str(smtp_port),
    )
    assert result.returncode == 0, result.stderr
    assert [m["To"] for m in mailbox.messages] == ["ops@byra.se"]
    assert "Dagskassa" in mailbox.messages[0]["Subject"]


def test_a_test_mail_says_why_it_was_not_sent(smtp_port):
    result = run(
        "notify",
        "test-mail",
        "ops@byra.se",
        DAGSKASSA_SMTP_HOST="127.0.0.1",
        DAGSKASSA_SMTP_PORT=str(smtp_port),
    )
    assert result.returncode == 1 and "not sent: ConnectionRefusedError" in result.stdout
    assert "not sent: smtp.host is empty" in run("notify", "test-mail", "ops@byra.se").stdout


def test_one_dispatcher_round(sqlite_template, tmp_path):
    database = tmp_path / "dagskassa.sqlite"
    shutil.copy(sqlite_template, database)
    result = run("notify", "send", "--digest", DAGSKASSA_DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "caught_up=0", "fanned_out=0", "mails_sent=0", "webhooks_delivered=0", "digests_sent=0",
    ]  # fmt: skip
