"""Settings, read once at start from the environment and an optional TOML file.

Every setting has a section and a name. In TOML it is ``[section] name = value``; in the environment it
is ``DAGSKASSA_<SECTION>_<NAME>`` (upper case), which wins over the file. The file is named by
``DAGSKASSA_CONFIG`` or passed to :func:`load_settings`. Nothing here runs at import time: entry points
call :func:`load_settings` once and pass the result on.

A section is a frozen dataclass; adding a setting is adding a field with a default (or ``REQUIRED``)
and, where the type alone does not say what is valid, a check in ``__post_init__`` that raises
:class:`SettingsError` naming the setting and the fix.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "DAGSKASSA_"


class SettingsError(ValueError):
    """A setting is missing or wrong. The message names the setting and says how to fix it."""

    def __init__(self, setting: str, problem: str, fix: str = "") -> None:
        self.setting = setting
        text = f"setting {setting}: {problem}"
        if fix:
            text += f" ({fix})"
        super().__init__(text)


def _require(ok: bool, setting: str, problem: str, fix: str = "") -> None:
    if not ok:
        raise SettingsError(setting, problem, fix)


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/dagskassa.sqlite"
    echo: bool = False

    def __post_init__(self) -> None:
        _require(
            self.url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")),
            "database.url",
            f"unsupported database URL {self.url.split(':', 1)[0]!r}",
            "use sqlite:///path/file.sqlite or postgresql+psycopg://user@host/db",
        )


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    #: The address people use to reach the BackOffice; OAuth redirect URLs and mail links are built on it.
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    #: Secure cookies need HTTPS; only a local demo over plain HTTP turns this off.
    secure_cookies: bool = True
    default_language: str = "sv"
    #: Bearer token that protects /metrics; empty means /metrics answers only to loopback clients.
    metrics_token: str = ""

    def __post_init__(self) -> None:
        _require(1 <= self.port <= 65535, "web.port", f"{self.port} is not a TCP port", "use 1-65535")
        _require(
            self.public_url.startswith(("http://", "https://")),
            "web.public_url",
            f"{self.public_url!r} is not an http(s) URL",
            "e.g. https://kassa.example.se",
        )
        _require(
            self.default_language in ("sv", "en"),
            "web.default_language",
            f"{self.default_language!r} is not supported",
            "use sv or en",
        )


@dataclass(frozen=True)
class SecuritySettings:
    #: Fernet keys (urlsafe base64, 32 bytes) for tokens at rest, newest first. Older keys only decrypt,
    #: so a key is rotated by putting the new one first and re-encrypting (``dagskassa doctor``).
    encryption_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class FortnoxSettings:
    client_id: str = ""
    client_secret: str = ""
    #: Real Fortnox: https://apps.fortnox.se/oauth-v1 and https://api.fortnox.se; the sandbox elsewhere.
    auth_url: str = "https://apps.fortnox.se/oauth-v1"
    api_url: str = "https://api.fortnox.se"
    timeout_seconds: float = 30.0
    #: Requests per 5-second sliding window the client allows itself per token (Fortnox allows 25).
    requests_per_window: int = 24

    def __post_init__(self) -> None:
        _require(
            1 <= self.requests_per_window <= 25,
            "fortnox.requests_per_window",
            f"{self.requests_per_window} is outside 1-25",
            "Fortnox refuses more than 25 requests per 5 seconds",
        )


@dataclass(frozen=True)
class VismaSettings:
    client_id: str = ""
    client_secret: str = ""
    #: Real Visma: https://identity.vismaonline.com and https://eaccountingapi.vismaonline.com (the
    #: sandbox client uses the same hosts); the local sandbox elsewhere.
    identity_url: str = "https://identity.vismaonline.com"
    api_url: str = "https://eaccountingapi.vismaonline.com"
    timeout_seconds: float = 30.0
    #: Requests per minute the client allows itself per connection and endpoint (Visma allows 600).
    requests_per_minute: int = 590

    def __post_init__(self) -> None:
        _require(
            1 <= self.requests_per_minute <= 600,
            "visma.requests_per_minute",
            f"{self.requests_per_minute} is outside 1-600",
            "Visma refuses more than 600 requests per minute per endpoint",
        )


@dataclass(frozen=True)
class SchedulerSettings:
    enabled: bool = True
    timezone: str = "Europe/Stockholm"
    sweep_seconds: int = 60
    #: Local time at which a store's missing Z-report is reported, HH:MM.
    nightly_check_at: str = "06:00"
    preflight_at: str = "05:30"
    #: Refresh tokens idle longer than this many days (Fortnox kills them after 45).
    token_keepalive_days: int = 30
    #: How long a worker's claim on a tenant outlives the worker: a heartbeat renews it every third of
    #: this while the process lives, so only a dead (or frozen) worker's claim lapses.
    lease_seconds: float = 60.0
    #: How long a tenant let go rests from workers of other processes (Fortnox's 5 s rate window, which
    #: their limiters have not seen); 0 where no rate limit applies (a sandbox without one).
    tenant_rest_seconds: float = 5.0

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                "scheduler.timezone",
                f"unknown time zone {self.timezone!r}",
                "e.g. Europe/Stockholm",
            ) from exc
        for name in ("nightly_check_at", "preflight_at"):
            value = getattr(self, name)
            hh, _, mm = value.partition(":")
            _require(
                hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60,
                f"scheduler.{name}",
                f"{value!r} is not a time of day",
                "write HH:MM, e.g. 06:00",
            )
        _require(
            1 <= self.token_keepalive_days < 45,
            "scheduler.token_keepalive_days",
            f"{self.token_keepalive_days} is outside 1-44",
            "refresh tokens die after 45 days",
        )


@dataclass(frozen=True)
class BridgeSettings:
    register_url: str = ""
    printer_url: str = ""
    backoffice_url: str = "http://127.0.0.1:8000"
    spool_path: str = "var/bridge-spool.sqlite"
    token_path: str = "var/bridge-token"
    status_path: str = "var/bridge-status.json"
    baudrate: int = 9600
    #: Alert when the oldest unsent Z-report is older than this many minutes.
    alert_after_minutes: int = 120
    #: How the register talks: "dkl1" (the register link protocol, docs/DKL1.md) or "print_stream"
    #: (a register that only prints: the bridge sits between it and the printer and reads the Z-dagrapport).
    register_protocol: str = "dkl1"
    #: JSON template that recognises the register's Z-dagrapport printout; empty is the built-in one.
    print_template_path: str = ""
    #: How long to wait for the printer's answer to one DLE EOT status query.
    printer_status_timeout_seconds: float = 0.3
    #: Longest wait between upload attempts while the BackOffice is down.
    upload_backoff_max_seconds: float = 900.0

    def __post_init__(self) -> None:
        _require(
            self.register_protocol in ("dkl1", "print_stream"),
            "bridge.register_protocol",
            f"{self.register_protocol!r} is not a register protocol",
            "use dkl1 or print_stream",
        )
        _require(
            self.alert_after_minutes >= 1,
            "bridge.alert_after_minutes",
            f"{self.alert_after_minutes} is not a positive number of minutes",
            "e.g. 120",
        )


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 25
    tls: str = "none"
    username: str = ""
    password: str = ""
    sender: str = "dagskassa@localhost"
    timeout_seconds: float = 10.0
    #: A CA bundle (PEM) to trust for the SMTP server's certificate beside the system's, e.g. an internal CA.
    ca_file: str = ""

    def __post_init__(self) -> None:
        _require(
            self.tls in ("none", "starttls", "ssl"),
            "smtp.tls",
            f"{self.tls!r} is not a TLS mode",
            "use none, starttls or ssl",
        )


@dataclass(frozen=True)
class NotifySettings:
    """Notifications (backoffice.notify); mail goes through [smtp], links start at web.public_url."""

    #: How often the dispatcher sends pending mails and webhooks.
    dispatch_seconds: int = 60
    #: Time of day (scheduler.timezone) at which the daily digests go out, HH:MM.
    digest_at: str = "07:00"
    #: A register not heard from for this many hours raises "register silent".
    register_silent_hours: int = 36
    #: Warn when a Fortnox refresh token dies within this many days and has not been refreshed.
    token_warning_days: int = 7
    webhook_timeout_seconds: float = 5.0
    #: Let agencies' webhooks reach addresses inside the network Dagskassa runs in (loopback, private,
    #: link-local such as a cloud's metadata service, reserved). Off: a webhook goes to public addresses
    #: only, so an agency admin cannot make the server call into its own network.
    webhook_private_addresses: bool = False

    def __post_init__(self) -> None:
        hh, _, mm = self.digest_at.partition(":")
        _require(
            hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60,
            "notify.digest_at",
            f"{self.digest_at!r} is not a time of day",
            "write HH:MM, e.g. 07:00",
        )
        _require(
            self.register_silent_hours >= 1,
            "notify.register_silent_hours",
            f"{self.register_silent_hours} is not a positive number of hours",
            "e.g. 36",
        )


@dataclass(frozen=True)
class MetricsSettings:
    """/metrics and the processes that feed it (the token is ``web.metrics_token``)."""

    #: Networks that may read /metrics when no token is set. A request that came through a proxy
    #: (X-Forwarded-For or Forwarded header) never counts as internal.
    internal_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    #: Where ``dagskassa serve`` and the worker and scheduler it starts keep their counters
    #: (prometheus-client's multiprocess mode), so the web's /metrics shows the whole machine. Emptied
    #: when serve starts.
    multiproc_dir: str = "var/metrics"

    def __post_init__(self) -> None:
        for network in self.internal_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise SettingsError(
                    "metrics.internal_networks",
                    f"{network!r} is not a network",
                    "write addresses or networks, e.g. 127.0.0.0/8,10.0.0.0/8",
                ) from exc


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    json: bool = False

    def __post_init__(self) -> None:
        _require(
            self.level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
            "logging.level",
            f"{self.level!r} is not a level",
            "use DEBUG, INFO, WARNING or ERROR",
        )


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    web: WebSettings = field(default_factory=WebSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    fortnox: FortnoxSettings = field(default_factory=FortnoxSettings)
    visma: VismaSettings = field(default_factory=VismaSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    bridge: BridgeSettings = field(default_factory=BridgeSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)

    def replace(self, **sections: Any) -> Settings:
        """A copy with whole sections or ``section={"name": value}`` overrides applied (for tests)."""
        changes = {}
        for name, value in sections.items():
            current = getattr(self, name)
            changes[name] = dataclasses.replace(current, **value) if isinstance(value, Mapping) else value
        return dataclasses.replace(self, **changes)


def _convert(setting: str, raw: Any, annotation: Any) -> Any:
    """Turn a TOML value or an environment string into the field's type, or say what is wrong."""
    text_source = isinstance(raw, str)
    try:
        if annotation is bool:
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if annotation is int:
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if annotation is float:
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if annotation == tuple[str, ...]:
            if text_source:
                return tuple(part.strip() for part in raw.split(",") if part.strip())
            if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
                return tuple(raw)
            raise ValueError
        if annotation is str:
            if not isinstance(raw, str):
                raise ValueError
            return raw
    except ValueError:
        pass
    kind = getattr(annotation, "__name__", str(annotation))
    raise SettingsError(setting, f"{raw!r} is not a valid {kind}", f"give a {kind}")


def load_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file (if any) and the environment, validate everything, return the settings.

    Unknown sections and names are errors: a misspelt setting silently ignored is worse than none.
    """
    environ = os.environ if environ is None else environ
    path = path or environ.get(f"{ENV_PREFIX}CONFIG") or None
    file_values: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                file_values = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise SettingsError("DAGSKASSA_CONFIG", f"file {path} not found", "fix the path") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError("DAGSKASSA_CONFIG", f"{path} is not valid TOML: {exc}") from exc

    section_types = get_type_hints(Settings)
    for section in file_values:
        if section not in section_types:
            raise SettingsError(section, "unknown section", f"known: {', '.join(section_types)}")

    known_env = set()
    sections = {}
    for section, section_type in section_types.items():
        hints = get_type_hints(section_type)
        table = file_values.get(section, {})
        if not isinstance(table, dict):
            raise SettingsError(section, "must be a table", f"write [{section}] in the file")
        for name in table:
            if name not in hints:
                raise SettingsError(f"{section}.{name}", "unknown setting", f"known: {', '.join(hints)}")
        values = {}
        for name, annotation in hints.items():
            setting = f"{section}.{name}"
            env_name = f"{ENV_PREFIX}{section}_{name}".upper()
            known_env.add(env_name)
            if env_name in environ:
                values[name] = _convert(env_name, environ[env_name], annotation)
            elif name in table:
                values[name] = _convert(setting, table[name], annotation)
        sections[section] = section_type(**values)

    stray = sorted(
        name
        for name in environ
        if name.startswith(ENV_PREFIX) and name not in known_env and name != f"{ENV_PREFIX}CONFIG"
    )
    if stray:
        raise SettingsError(stray[0], "unknown environment variable", "check the spelling")
    return Settings(**sections)


def ensure_parent_dir(path: str) -> Path:
    """Create the folder a file setting points into, so a fresh checkout runs without mkdir."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target
