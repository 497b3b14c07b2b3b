"""``dagskassa doctor``: is this installation able to do its work? One finding per line, ``ok`` with what
was seen, or what is wrong and the fix; ``warn`` for what works but deserves a look (mail not configured).

The checks, in order, each skipped with a word when one before it failed that it needs: configuration,
the accounting systems' app credentials, the database (reachable, migrated to the newest revision), the
stored tokens (every connection's tokens open with the configured keys; never printed), the day claims
(how many days each channel holds: an accounting system's API, a SIE file, by hand), the scheduler
(a heartbeat younger than a few minutes, its jobs' last runs), SMTP (connect, EHLO, NOOP).
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backoffice.db import make_engine
from backoffice.migrate import alembic_config
from backoffice.models import FortnoxConnection, Store
from backoffice.notify.mail import smtp_connection
from backoffice.operations.models import HEARTBEAT, JobRun, SchedulerHeartbeat
from backoffice.services.day_claims import HOLDERS, DayClaim
from config.settings import Settings, SettingsError
from exporters.fortnox.crypto import CannotDecrypt, TokenCipher

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
UPGRADE_FIX = "run `dagskassa db upgrade`"


@dataclass(frozen=True)
class Finding:
    status: str
    subject: str
    text: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.subject}: {self.text}"


def ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def check_configuration(settings: Settings) -> Iterator[Finding]:
    """What the settings loader cannot know alone: what serving needs and the keys' form."""
    problems = []
    if not settings.web.secret_key:
        problems.append(
            Finding(
                FAIL,
                "web.secret_key",
                "empty: set DAGSKASSA_WEB_SECRET_KEY to a long random string (the same on every machine)",
            )
        )
    try:
        TokenCipher.from_settings(settings.security)
    except SettingsError as exc:
        problems.append(Finding(FAIL, "security.encryption_keys", str(exc)))
    yield from problems or [
        Finding(OK, "configuration", f"loads; {len(settings.security.encryption_keys)} encryption key(s)")
    ]


def check_credentials(settings: Settings) -> Iterator[Finding]:
    """Each accounting system's app credentials: Fortnox's are needed, Visma's only for Visma stores."""
    for section, name, needed in (("fortnox", "Fortnox", True), ("visma", "Visma eEkonomi", False)):
        given = getattr(settings, section)
        prefix = f"DAGSKASSA_{section.upper()}"
        fix = f"set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET (the app's credentials from {name})"
        if given.client_id and given.client_secret:
            yield Finding(OK, f"{section} app", f"client id and secret set ({given.api_url})")
        elif given.client_id or given.client_secret or needed:
            missing = "client_secret" if given.client_id else "client_id"
            yield Finding(FAIL, f"{section} app", f"{section}.{missing} is empty: {fix}")
        else:
            yield Finding(WARN, f"{section} app", f"not configured, stores cannot connect {name}: {fix}")


def open_database(settings: Settings) -> tuple[Engine | None, list[Finding]]:
    """The engine if the database answers and is at the newest revision, and the findings on the way."""
    url = make_url(settings.database.url)
    shown = url.render_as_string(hide_password=True)
    file = url.database if url.get_backend_name() == "sqlite" and url.database != ":memory:" else None
    if file and not Path(file).exists():
        return None, [Finding(FAIL, "database", f"no file at {file}: {UPGRADE_FIX} (creates it)")]
    engine = make_engine(settings.database.url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as exc:
        engine.dispose()
        return None, [
            Finding(
                FAIL,
                "database",
                f"cannot reach {shown} ({type(exc).__name__}: {str(exc).splitlines()[0]}): check "
                "database.url and that the database server runs and lets this machine in",
            )
        ]
    found = [Finding(OK, "database", f"reachable ({shown})")]
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    if current == head:
        return engine, [*found, Finding(OK, "database schema", f"migrated to the newest revision ({head})")]
    if current is None:
        problem, fix = "not migrated (no tables)", UPGRADE_FIX
    elif current in {script.revision for script in scripts.walk_revisions()}:
        problem, fix = f"at revision {current}, this version needs {head}", UPGRADE_FIX
    else:
        problem = f"at revision {current}, which this version of Dagskassa does not know (a newer one ran)"
        fix = "install that newer version here too"
    engine.dispose()
    return None, [*found, Finding(FAIL, "database schema", f"{problem}: {fix}")]


def check_tokens(settings: Settings, engine: Engine) -> Iterator[Finding]:
    """Open every stored connection's tokens with the configured keys; name the stores whose do not."""
    try:
        cipher = TokenCipher.from_settings(settings.security)
    except SettingsError:
        yield Finding(FAIL, "stored tokens", "not checked: no usable encryption key (see above)")
        return
    newest = Fernet(settings.security.encryption_keys[0])
    with engine.connect() as connection:
        rows = connection.execute(
            select(Store.id, Store.name, FortnoxConnection.tokens_enc)
            .join(FortnoxConnection, FortnoxConnection.store_id == Store.id)
            .where(FortnoxConnection.tokens_enc.is_not(None))
            .order_by(Store.id)
        ).all()
    failed, older_key = [], 0
    for store_id, name, sealed in rows:
        try:
            cipher.decrypt(sealed)
        except CannotDecrypt:
            failed.append(f"{name!r} (store {store_id})")
            continue
        try:
            newest.decrypt(sealed.encode("ascii"))
        except InvalidToken:
            older_key += 1
    if failed:
        yield Finding(
            FAIL,
            "stored tokens",
            f"{len(failed)} of {len(rows)} connections cannot be decrypted: {', '.join(failed)}. Put the key "
            "that sealed them back into security.encryption_keys (a new key goes first, old ones stay "
            "after it), or connect those stores again from their Integration settings page",
        )
    elif not rows:
        yield Finding(OK, "stored tokens", "none stored yet (no store is connected)")
    else:
        yield Finding(OK, "stored tokens", f"all {len(rows)} connections decrypt with the configured keys")
    if older_key:
        yield Finding(
            WARN,
            "stored tokens",
            f"{older_key} connections are sealed with an older key: `dagskassa doctor --rotate-keys` "
            "re-encrypts them with the first key, after which the old keys can go",
        )


def check_day_claims(engine: Engine) -> Finding:
    """How many days each channel holds (one channel per day, DESIGN.md section 7); a channel this
    version does not know would let a day through every guard, so it fails."""
    with engine.connect() as connection:
        counts = dict(
            connection.execute(select(DayClaim.channel, func.count()).group_by(DayClaim.channel)).all()
        )
    unknown = sorted(set(counts) - set(HOLDERS))
    if unknown:
        listed = ", ".join(f"{channel!r} ({counts[channel]} days)" for channel in unknown)
        return Finding(
            FAIL,
            "day claims",
            f"channels this version does not know: {listed}: a newer version wrote them; install it here too",
        )
    if not counts:
        return Finding(OK, "day claims", "no day claimed yet")
    held = ", ".join(f"{HOLDERS[channel]} {counts[channel]}" for channel in HOLDERS if channel in counts)
    return Finding(OK, "day claims", f"{sum(counts.values())} days, each through one channel: {held}")


def check_scheduler(engine: Engine, now: datetime, alive_within: timedelta) -> Iterator[Finding]:
    """The leader's heartbeat (naive UTC ``now``) and each job's last run."""
    with engine.connect() as connection:
        beat = connection.execute(
            select(SchedulerHeartbeat.holder, SchedulerHeartbeat.beat_at).where(
                SchedulerHeartbeat.name == HEARTBEAT
            )
        ).first()
        jobs = connection.execute(select(JobRun).order_by(JobRun.job)).all()
    start = "start `dagskassa scheduler` (or `dagskassa serve`, which starts one) and look at its log"
    if beat is None:
        yield Finding(FAIL, "scheduler", f"no scheduler has ever run against this database: {start}")
    else:
        age = (now - beat.beat_at).total_seconds()
        if age > alive_within.total_seconds():
            yield Finding(FAIL, "scheduler", f"silent: last heartbeat {ago(age)} from {beat.holder}: {start}")
        else:
            yield Finding(OK, "scheduler", f"alive: {beat.holder}, heartbeat {ago(age)}")
    for job in jobs:
        if job.last_outcome == "failed":
            yield Finding(
                FAIL,
                f"job {job.job}",
                f"last run failed {ago((now - job.last_finished_at).total_seconds())}: {job.last_error} "
                f"(see the scheduler's log; it runs again on its schedule)",
            )
        else:
            yield Finding(
                OK,
                f"job {job.job}",
                f"last ran ok {ago((now - job.last_finished_at).total_seconds())} "
                f"({job.runs} runs, {job.failures} failed)",
            )


def check_smtp(settings: Settings) -> Finding:
    smtp = settings.smtp
    where = f"{smtp.host}:{smtp.port} (tls {smtp.tls})"
    if not smtp.host:
        return Finding(
            WARN,
            "smtp",
            "not configured, alerts are not mailed: set DAGSKASSA_SMTP_HOST, _PORT, _TLS and _SENDER",
        )
    try:
        with smtp_connection(smtp) as server:
            server.ehlo_or_helo_if_needed()
            code, answer = server.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return Finding(
            FAIL,
            "smtp",
            f"cannot talk to {where} ({type(exc).__name__}: {exc}): check smtp.host, smtp.port, smtp.tls "
            "and smtp.username/password, and that the mail server accepts this machine",
        )
    if code != 250:
        return Finding(FAIL, "smtp", f"{where} answered NOOP with {code} {answer!r}: check the mail server")
    return Finding(OK, "smtp", f"{where} answers")


def rotate_keys(settings: Settings, engine: Engine) -> int:
    """Re-encrypt every stored connection's tokens with the first key; returns how many. Each row under
    its lock, so a refresh in progress is not overwritten with stale tokens."""
    cipher = TokenCipher.from_settings(settings.security)
    rotated = 0
    with Session(engine) as session:
        ids = session.scalars(
            select(FortnoxConnection.id).where(FortnoxConnection.tokens_enc.is_not(None))
        ).all()
    for connection_id in ids:
        with Session(engine) as session:
            row = session.get(FortnoxConnection, connection_id, with_for_update=True)
            if row is not None and row.tokens_enc:
                row.tokens_enc = cipher.rotate(row.tokens_enc)
                rotated += 1
            session.commit()
    return rotated


def run_checks(settings: Settings, now: datetime, alive_within: timedelta) -> list[Finding]:
    """Every finding, in order. ``now`` is naive UTC, as the database keeps time."""
    findings = [*check_configuration(settings), *check_credentials(settings)]
    engine, found = open_database(settings)
    findings += found
    if engine is None:
        findings.append(
            Finding(SKIP, "stored tokens, day claims, scheduler", "not checked until the database is ready")
        )
    else:
        try:
            findings += [
                *check_tokens(settings, engine),
                check_day_claims(engine),
                *check_scheduler(engine, now, alive_within),
            ]
        finally:
            engine.dispose()
    findings.append(check_smtp(settings))
    return findings
