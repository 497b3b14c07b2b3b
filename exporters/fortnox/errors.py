"""Fortnox's answers and httpx's failures, translated into the shared error tree (exporters.core.errors).

What Fortnox really sends (FACTS.md 3.4): ``{"ErrorInformation": {"Error", "Message", "Code"}}`` on
404s, the same keys in lower case on 400s, the code sometimes a string; ``{"message": "unauthorized"}``
for a dead access token; RFC 6749 ``{"error", "error_description"}`` from the OAuth endpoints, served
as text/html or text/plain; and plain HTML when the API is down. Every shape is parsed.

The translation::

    connect error, pool timeout            RetryLater      nothing reached Fortnox
    read timeout, dropped connection       RetryLater      on GET (harmless to repeat)
                                           OutcomeUnknown  on POST/PUT (it may have been stored)
    429, 503                               RetryLater      refused before any work (Retry-After read)
    500, 502, 504                          RetryLater on GET, OutcomeUnknown on POST/PUT
    401                                    Unauthorized    internal: the client refreshes once
    403, 400 with a licence/scope code     Reconnect       the connection lacks a scope or licence
    400 (other)                            Rejected        code, Fortnox's message, and the fix
    404                                    NotFound
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from exporters import http_errors
from exporters.core.errors import NotFound, OutcomeUnknown, Reconnect, Rejected, RetryLater
from exporters.http_errors import Unauthorized as Unauthorized
from exporters.http_errors import is_safe

#: Codes meaning the connection lacks a licence or a scope: nothing in the data can fix that.
SCOPE_CODES = frozenset({2001101, 2001103, 2000663})

#: Fortnox codes and the fix in words a store manager understands.
FIXES: dict[int, str] = {
    2001304: "the account does not exist in Fortnox's chart of accounts for that financial year: add it "
    "in Fortnox (Inställningar > Bokföring > Kontoplan) or map the sale to an account that exists",
    2001265: "the account is missing or inactive in Fortnox: activate it in the chart of accounts or map "
    "the sale to an active account",
    2000401: "the date is in a locked period in Fortnox: unlock the period (Inställningar > Bokföring > "
    "Låsning av period) or ask your accountant, then send the day again",
    2000947: "the cost center is missing or inactive in Fortnox: activate it (Register > Kostnadsställen) "
    "or choose another cost center in the integration settings",
    2001101: "the Fortnox company has no licence for this part of the API: add the licence in Fortnox "
    "(e.g. Bokföring) and connect Dagskassa again",
    2001103: "the Fortnox company has no API licence: add the Integration licence in Fortnox and connect "
    "Dagskassa again",
    2000663: "Dagskassa was not given permission for this in Fortnox: connect again and grant every "
    "permission it asks for",
    2000433: "the customer does not exist in Fortnox: check the customer number on the register",
    2000587: "Dagskassa asked Fortnox with a filter it does not accept; this is a bug, report it",
    2001392: "Fortnox did not understand the request; this is a bug in Dagskassa, report it",
    2002115: "Fortnox did not understand the request; this is a bug in Dagskassa, report it",
    2001399: "Fortnox did not understand the request; this is a bug in Dagskassa, report it",
}

#: For refusals whose code Fortnox has not published: words of the message (Swedish and English) and the
#: fix. Checked in order; the first match wins.
MESSAGE_FIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("inte manuell", "not manual"),
        "the voucher series does not allow manual vouchers: in Fortnox (Inställningar > Bokföring > "
        "Verifikationsserier) tick 'Manuell' for the series, or choose another series in the settings",
    ),
    (
        ("verifikationsserie", "voucher series"),
        "the voucher series does not exist in Fortnox for that financial year: create it there, or "
        "choose an existing series in the integration settings",
    ),
    (
        ("räkenskapsår", "financial year"),
        "there is no financial year in Fortnox for that date: create the new financial year in Fortnox "
        "(Inställningar > Bokföring > Räkenskapsår), then send the day again",
    ),
    (
        ("låst", "locked"),
        FIXES[2000401],
    ),
    (
        ("kostnadsställe är obligatoriskt", "cost center is mandatory", "cost center is required"),
        "the account requires a cost center: set the store's cost center in the integration settings",
    ),
    (
        ("kostnadsställe är inte tillåtet", "cost center is not allowed"),
        "the account does not allow a cost center in Fortnox: reload the chart of accounts on the mapping "
        "page (so Dagskassa leaves the cost center off that account), or allow cost centers on it in Fortnox",
    ),
    (
        ("kostnadsställe", "cost center", "costcenter"),
        "the cost center does not exist or is inactive in Fortnox: create or activate it (Register > "
        "Kostnadsställen), or choose another cost center in the integration settings",
    ),
    (
        ("projekt är obligatoriskt", "project is mandatory", "project is required"),
        "the account requires a project: set the store's project in the integration settings",
    ),
    (
        ("projekt", "project"),
        "the project does not exist, is inactive or is not allowed on the account in Fortnox: check it "
        "in Fortnox (Register > Projekt) and the store's project in the integration settings",
    ),
    (
        ("inte aktiv", "not active", "inactive", "inaktiv"),
        "the account is inactive in Fortnox: activate it in the chart of accounts (Inställningar > "
        "Bokföring > Kontoplan) or map the sale to an active account",
    ),
    (
        ("konto", "account"),
        FIXES[2001304],
    ),
    (
        ("minst två rader", "at least two rows"),
        "Dagskassa sent a voucher with too few rows; this is a bug, report it with the Z-report",
    ),
    (
        ("balans", "balance", "obalanserad", "unbalanced"),
        "the voucher does not balance; this is a bug in the Z-report figures or in Dagskassa, report it "
        "with the Z-report",
    ),
)

UNKNOWN_FIX = (
    "Fortnox refused it; read Fortnox's message, correct it in Fortnox or in the settings, and send "
    "again (ask support if the message is unclear)"
)


@dataclass(frozen=True)
class FortnoxError:
    """What a Fortnox error body said, whatever its shape."""

    code: int | None
    message: str
    #: ``invalid_grant``, ``invalid_client`` … for OAuth answers, else empty.
    oauth_error: str = ""


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_error_body(body: bytes | str) -> FortnoxError:
    """Read any error body Fortnox sends (both ErrorInformation casings, OAuth errors, the bare
    ``message``, HTML or nothing) into a code and a message. Never raises."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        snippet = " ".join(text.split())[:200]
        return FortnoxError(None, snippet or "(empty answer)")
    info = data.get("ErrorInformation", data.get("errorInformation"))
    if isinstance(info, dict):
        fields = {str(key).lower(): value for key, value in info.items()}
        return FortnoxError(_int_or_none(fields.get("code")), str(fields.get("message") or "").strip())
    if isinstance(data.get("error"), str):
        description = data.get("error_description") or data["error"]
        return FortnoxError(None, str(description), oauth_error=data["error"])
    fields = {str(key).lower(): value for key, value in data.items()}
    return FortnoxError(_int_or_none(fields.get("code")), str(fields.get("message") or text[:200]))


def fix_for(code: int | None, message: str) -> str:
    """The store manager's fix for a Fortnox refusal: by its code when known, else by its words."""
    if code in FIXES:
        return FIXES[code]
    lowered = message.lower()
    for words, fix in MESSAGE_FIXES:
        if any(word in lowered for word in words):
            return fix
    return UNKNOWN_FIX


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta or HTTP date), or None. Fortnox's own use is unconfirmed."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date_header = response.headers.get("Date")
    try:
        now = parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError):
        now = None
    if now is None:
        return None
    return max(0.0, (when - now).total_seconds())


def raise_for_response(response: httpx.Response) -> None:
    """Raise the error an unsuccessful answer means; return quietly on 2xx."""
    status = response.status_code
    if status < 300:
        return
    method = response.request.method
    error = parse_error_body(response.content)
    where = f"Fortnox {method} {response.request.url.path}"
    said = f"{where} answered {status}: {error.message}" + (f" (code {error.code})" if error.code else "")
    if status == 401:
        raise Unauthorized(said)
    if status == 429:
        raise RetryLater(f"{where}: too many requests (429)", retry_after(response))
    if status >= 500:
        if status == 503 or is_safe(method):
            raise RetryLater(said, retry_after(response))
        raise OutcomeUnknown(said, fix="Dagskassa looks for the voucher in Fortnox before it sends it again")
    if status == 403 or error.code in SCOPE_CODES:
        raise Reconnect(said, fix_for(error.code, error.message))
    if status == 404:
        raise NotFound(said)
    raise Rejected(error.message or said, error.code, fix_for(error.code, error.message))


def translate_transport_error(exc: httpx.TransportError, method: str) -> RetryLater:
    """The error to raise (``from exc``) when no answer came: could Fortnox have stored the request?"""
    return http_errors.translate_transport_error(
        exc, "Fortnox", method, exc.request.url.path if _has_request(exc) else ""
    )


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when httpx did not attach one
    except RuntimeError:
        return False
    return True
