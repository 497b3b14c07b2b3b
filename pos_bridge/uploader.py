"""Getting spooled Z-reports to the BackOffice: enrollment, at-least-once upload, backoff, alerts.

Each report is POSTed to ``/api/v1/z-reports`` with ``Idempotency-Key: <register>:z:<number>``, so a
report sent again (after a crash between the answer and marking it sent) is recognised by the BackOffice
(200, same again) and never booked twice. While the BackOffice is unreachable the oldest report is retried
with exponential backoff and jitter; later reports wait behind it, so they arrive in order.

HTTP answers::

    201, 200          sent
    409               conflict: the BackOffice has another report with this number; kept for review
    422               rejected: the BackOffice found it invalid; kept with its errors
    401, 403          the device token is refused: kept, retried, alert (enroll again)
    5xx, 408, 429, network errors and anything else: kept, retried after the backoff
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from exporters.core import Rejected, RetryLater
from pos_bridge.link import Checkpoint, no_checkpoint
from pos_bridge.spool import Clock, Spool, ZRow, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceToken:
    device_token: str
    register_id: str


def save_token(path: str | Path, token: DeviceToken) -> None:
    """Write the token file with mode 0600 (readable by the bridge's user only), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(token.__dict__).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def load_token(path: str | Path) -> DeviceToken | None:
    path = Path(path)
    if not path.exists():
        return None
    if path.stat().st_mode & 0o077:
        log.warning("token file %s was readable by others; set to mode 0600", path)
        path.chmod(0o600)
    data = json.loads(path.read_text("utf-8"))
    return DeviceToken(data["device_token"], data["register_id"])


def enroll(
    client: httpx.Client, code: str, register_id: str, control_unit_id: str, token_path: str | Path
) -> DeviceToken:
    """Trade a one-time enrollment code from the BackOffice for this device's token and keep it."""
    try:
        response = client.post(
            "/api/v1/enroll",
            json={"code": code, "register_id": register_id, "control_unit_id": control_unit_id},
        )
    except httpx.HTTPError as exc:
        raise RetryLater(f"the BackOffice cannot be reached: {exc}") from exc
    if response.status_code >= 500:
        raise RetryLater(f"the BackOffice answered {response.status_code}")
    if response.status_code != 201:
        raise Rejected(
            f"enrollment refused ({response.status_code}): {response.text[:300]}",
            code=response.status_code,
            fix="ask the BackOffice for a new one-time code; a code works once",
        )
    data = response.json()
    token = DeviceToken(data["device_token"], str(data.get("register_id", register_id)))
    save_token(token_path, token)
    log.info("enrolled as register %s", token.register_id)
    return token


class Uploader:
    def __init__(
        self,
        client: httpx.Client,
        spool: Spool,
        token_path: str | Path,
        status_path: str | Path,
        alert_after: timedelta,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        backoff_base: timedelta = timedelta(seconds=5),
        backoff_max: timedelta = timedelta(minutes=15),
        checkpoint: Checkpoint = no_checkpoint,
    ) -> None:
        self.client = client
        self.spool = spool
        self.token_path = token_path
        self.status_path = Path(status_path)
        self.alert_after = alert_after
        self.clock = clock
        self.rng = rng or random.Random()
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.checkpoint = checkpoint
        self.backoffice = "unknown"
        self.last_error: str | None = None
        self.alerting = False

    def backoff(self, attempts: int) -> timedelta:
        """Wait before try ``attempts + 1``: doubling from the base up to the cap, then 50-100 % of it."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** min(attempts, 30)))
        return ceiling * (0.5 + self.rng.random() / 2)

    def run_once(self) -> ZRow | None:
        """Try the oldest due report once; write the status file. Returns the report tried, if any."""
        now = self.clock()
        due = self.spool.next_due(now)
        if due is not None:
            self._upload(due, now)
        self.write_status()
        return due

    def _upload(self, z: ZRow, now: datetime) -> None:
        token = load_token(self.token_path)
        if token is None:
            # Nothing was tried, so no backoff: the report goes as soon as the bridge is enrolled.
            error = "not enrolled: run `dagskassa bridge enroll --code ...`"
            if error != self.last_error:
                log.warning("Z-report %s waits: %s", z.z_number, error)
            self.last_error = error
            return
        try:
            response = self.client.post(
                "/api/v1/z-reports",
                json=z.body,
                headers={
                    "Authorization": f"Bearer {token.device_token}",
                    "Idempotency-Key": f"{token.register_id}:z:{z.z_number}",
                },
            )
        except httpx.HTTPError as exc:
            self.backoffice = "down"
            self._retry(z, now, f"BackOffice unreachable: {exc.__class__.__name__}: {exc}")
            return
        status = response.status_code
        if status in (200, 201):
            self.checkpoint("uploaded")
            self.spool.mark_sent(z.id, status, response.text[:2000])
            self.backoffice, self.last_error = "up", None
            log.info("Z-report %s sent to the BackOffice (%s)", z.z_number, status)
            return
        self.backoffice = "up" if status < 500 else "down"
        if status in (409, 422):
            errors = _errors(response)
            state = "conflict" if status == 409 else "rejected"
            self.spool.mark_refused(z.id, state, status, response.text[:2000], errors)
            log.error("Z-report %s %s by the BackOffice (%s): %s", z.z_number, state, status, errors)
            return
        if status in (401, 403):
            # Capped at a minute, so a report goes soon after the bridge is enrolled again.
            error = f"the BackOffice refuses the device token ({status}): enroll again"
            self._retry(z, now, error, cap=timedelta(minutes=1))
            return
        self._retry(z, now, f"the BackOffice answered {status}", _retry_after(response))

    def _retry(
        self,
        z: ZRow,
        now: datetime,
        error: str,
        retry_after: float | None = None,
        cap: timedelta | None = None,
    ) -> None:
        wait = self.backoff(z.attempts)
        if cap is not None:
            wait = min(wait, cap)
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        self.spool.mark_retry(z.id, now + wait, error)
        if error != self.last_error:
            log.warning("Z-report %s not sent (%s); next try in %s", z.z_number, error, wait)
        self.last_error = error

    def status(self) -> dict[str, Any]:
        now = self.clock()
        oldest = self.spool.oldest_unsent()
        counts = self.spool.count_by_state()
        alert = None
        oldest_info = None
        if oldest is not None:
            age = now - oldest.received_at
            oldest_info = {
                "z_number": oldest.z_number,
                "received_at": oldest.received_at.isoformat(),
                "age_minutes": int(age.total_seconds() // 60),
            }
            if age > self.alert_after:
                alert = (
                    f"Z-report {oldest.z_number} has waited {oldest_info['age_minutes']} minutes for the"
                    f" BackOffice ({self.last_error or 'not sent yet'})"
                )
        attention = [
            {"z_number": z.z_number, "state": z.state, "errors": z.errors}
            for z in self.spool.z_reports()
            if z.state in ("rejected", "conflict")
        ]
        slips = self.spool.slips()
        waiting = [slip for slip in slips if slip["state"] == "pending"]
        return {
            "updated_at": now.isoformat(),
            "enrolled": load_token(self.token_path) is not None,
            "backoffice": self.backoffice,
            "last_error": self.last_error,
            "z_reports": {
                state: counts.get(state, 0) for state in ("pending", "sent", "conflict", "rejected")
            },
            "oldest_unsent": oldest_info,
            "alert": alert,
            "needs_attention": attention,
            "day_close_slips": {
                "waiting": len(waiting),
                "printer": (waiting or slips)[-1]["printer_status"] if slips else None,
            },
        }

    def write_status(self) -> dict[str, Any]:
        status = self.status()
        if status["alert"] and not self.alerting:
            log.error("ALERT %s", status["alert"])
        elif not status["alert"] and self.alerting:
            log.info("alert over: no Z-report is waiting too long")
        self.alerting = bool(status["alert"])
        self.status_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.status_path.with_name(self.status_path.name + ".tmp")
        temporary.write_text(json.dumps(status, indent=2, ensure_ascii=False), "utf-8")
        os.replace(temporary, self.status_path)
        return status

    def serve(self, stop: threading.Event, idle_seconds: float = 0.5) -> None:
        while not stop.is_set():
            tried = self.run_once()
            if tried is None or self.spool.z_report(tried.id).state == "pending":
                stop.wait(idle_seconds)


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return [{"field": "", "message": response.text[:500], "fix": ""}]
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return body["errors"]
    return [{"field": "", "message": json.dumps(body)[:500], "fix": ""}]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
