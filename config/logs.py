"""Logging set-up, called once by each entry point (CLI command, WSGI server, worker), never on import.

Secrets never reach a log line: the filter below masks anything that looks like a bearer token, an OAuth
code or refresh token, a client secret or a password in ``key=value`` / JSON form.
"""

from __future__ import annotations

import json
import logging
import re

_SECRET = re.compile(
    r"(?i)(\"?(?:access_token|refresh_token|client_secret|password|code|authorization|token)\"?"
    r"\s*[:=]\s*\"?)(?:Bearer\s+|Basic\s+)?[^\s\",&}]+"
)


def mask_secrets(text: str) -> str:
    """Replace secret values in ``text`` by ``***`` (keys stay, so the line still says what it was)."""
    return _SECRET.sub(r"\1***", text)


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", as_json: bool = False) -> None:
    """Configure the root logger for a process. Safe to call twice (the handler is replaced)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_dagskassa", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._dagskassa = True  # type: ignore[attr-defined]
    handler.addFilter(SecretFilter())
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
    # These log every request, job run or migration step at INFO; they drown the business events.
    for chatty in ("httpx", "apscheduler", "werkzeug", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
