"""Visma's answers and httpx's failures, translated into the shared error tree (exporters.core.errors).

Visma's error body (FACTS.md section 2): ``{"ErrorCode": int, "DeveloperErrorMessage": str, "ErrorId":
uuid, "Errors": [{"ErrorCode", "Field", "Key", "Message"}] | null}``; the identity server answers RFC 6749
``{"error": "invalid_grant"}``. The translation::

    connect error, pool timeout              RetryLater      nothing reached Visma
    read timeout, dropped connection         RetryLater on GET, OutcomeUnknown on POST
    429 (4010, "Try again in N seconds.")    RetryLater      retry_after = N
    500, 502, 504                            RetryLater on GET, OutcomeUnknown on POST; 503 RetryLater
    401                                      Unauthorized    internal: the client refreshes once
    403 4006 (scope)                         Reconnect       connect again, granting every permission
    4002 module, 4003/4004/4012/4019         Rejected        the company must change something in Visma
    404                                      NotFound
    400 (other)                              Rejected        Visma's code, its message, and the fix
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx

from exporters import http_errors
from exporters.core.errors import NotFound, OutcomeUnknown, Reconnect, Rejected, RetryLater
from exporters.http_errors import Unauthorized as Unauthorized
from exporters.http_errors import is_safe

NO_ACCESS_TO_SCOPES = 4006
TOO_MANY_REQUESTS = 4010

RECONNECT_FIX = (
    "a Visma administrator must connect Dagskassa again: Settings > Visma eEkonomi > Connect, then approve "
    "every permission on Visma's page"
)
BUG_FIX = "Visma did not understand what Dagskassa sent; this is a bug in Dagskassa, report it"

#: Visma's codes (FACTS.md error catalogue) and the fix in words a store manager understands.
FIXES: dict[int, str] = {
    2000: "Visma refused the voucher's contents (see its message); correct it in Visma or in the settings "
    "and send the day again",
    3000: "something the voucher refers to (a cost center item) does not exist in Visma: check the store's "
    "cost center in the integration settings",
    3001: "there is no fiscal year in Visma for that date: create it in Visma (Inställningar > Räkenskapsår), "
    "then send the day again",
    3002: "the account does not exist in Visma's chart for that fiscal year: add it in Visma "
    "(Inställningar > Kontoplan) or map the sale to an account that exists",
    4002: "the Visma company has no access to the API module: activate it in Visma (Appar och tillägg > "
    "API / integrationer) and make sure the right company is chosen, then try again",
    4003: "the Visma company has not finished its startup guide: complete it in Visma, then try again",
    4004: "the Visma company is not active: reactivate it in Visma",
    4007: "the Visma user who connected Dagskassa lacks the right to do this: connect again as a user "
    "with bookkeeping rights",
    4012: "Visma's licence agreement has not been accepted: log in to Visma and accept it",
    4019: "the Visma user who connected Dagskassa is read-only: connect again as a user with full rights",
    4026: "the date is in a locked period in Visma: unlock the period (Inställningar > Bokföring > "
    "Låsning) or ask your accountant, then send the day again",
    4038: "the date is in a locked fiscal year in Visma: unlock the fiscal year or ask your accountant, "
    "then send the day again",
    5005: "the project on the voucher has ended in Visma: reopen it or choose another project",
    5006: "the cost center is inactive in Visma: activate it (Inställningar > Kostnadsställen) or choose "
    "another cost center in the integration settings",
    5007: "the voucher to attach the Z-report to was not found in Visma; Dagskassa tries again",
    6000: BUG_FIX,
    6001: BUG_FIX,
}
#: Code 2000 covers every model error; its message says which (words of Visma's messages, UNCONFIRMED).
MODEL_FIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("balance",),
        "the voucher does not balance; this is a bug in the Z-report figures or in Dagskassa, report it with "
        "the Z-report",
    ),
    (
        ("not allowed",),
        "the account does not allow cost centers in Visma: allow them on the account (Inställningar > "
        "Kontoplan) or remove the store's cost center from that account in the mapping",
    ),
    (
        ("mandatory",),
        "the account requires a cost center in Visma: set the store's cost center in the integration settings",
    ),
    (
        ("not active", "inactive"),
        "an inactive account: activate it in Visma (Inställningar > Kontoplan) or map the sale to an active "
        "account, then send the day again",
    ),
)
UNKNOWN_FIX = "Visma refused it; read Visma's message, correct it in Visma or in the settings, and send again"
_WAIT = re.compile(r"try again in (\d+) seconds", re.IGNORECASE)


@dataclass(frozen=True)
class VismaError:
    """What a Visma error body said, whatever its shape."""

    code: int | None
    message: str
    oauth_error: str = ""
    fields: tuple[str, ...] = ()


def parse_error_body(body: bytes | str) -> VismaError:
    """Read Visma's error body, an RFC 6749 error, HTML or nothing into a code and a message. Never raises."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return VismaError(None, " ".join(text.split())[:200] or "(empty answer)")
    if isinstance(data.get("error"), str):
        return VismaError(
            None, str(data.get("error_description") or data["error"]), oauth_error=data["error"]
        )
    code = data.get("ErrorCode")
    details = [e for e in data.get("Errors") or [] if isinstance(e, dict)]
    message = str(data.get("DeveloperErrorMessage") or data.get("Message") or "").strip()
    extra = "; ".join(f"{e.get('Field')}: {e.get('Message')}" for e in details if e.get("Message") != message)
    return VismaError(
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        message + (f" ({extra})" if extra else ""),
        fields=tuple(str(e.get("Field") or "") for e in details),
    )


def fix_for(code: int | None, message: str = "") -> str:
    """The store manager's fix for a Visma refusal: by its code, and for 2000 by its words."""
    if code == 2000:
        lowered = message.lower()
        for words, fix in MODEL_FIXES:
            if any(word in lowered for word in words):
                return fix
    return FIXES.get(code or 0, UNKNOWN_FIX)


def wait_seconds(message: str) -> float | None:
    """The wait Visma writes into its 429 text ("Try again in 55 seconds.")."""
    match = _WAIT.search(message)
    return float(match.group(1)) if match else None


def raise_for_response(response: httpx.Response) -> None:
    """Raise the error an unsuccessful answer means; return quietly on 2xx."""
    status = response.status_code
    if status < 300:
        return
    method = response.request.method
    error = parse_error_body(response.content)
    where = f"Visma {method} {response.request.url.path}"
    said = f"{where} answered {status}: {error.message}" + (f" (code {error.code})" if error.code else "")
    if status == 401:
        raise Unauthorized(said)
    if status == 429 or error.code == TOO_MANY_REQUESTS:
        header = response.headers.get("Retry-After", "")
        wait = float(header) if header.isdigit() else wait_seconds(error.message)
        raise RetryLater(f"{where}: too many requests ({error.message})", wait)
    if status >= 500:
        if status == 503 or is_safe(method):
            raise RetryLater(said)
        raise OutcomeUnknown(said, fix="Dagskassa looks for the voucher in Visma before it sends it again")
    if error.code == NO_ACCESS_TO_SCOPES:
        raise Reconnect(said, RECONNECT_FIX)
    if status == 404:
        raise NotFound(said)
    raise Rejected(error.message or said, error.code, fix_for(error.code, error.message))


def translate_transport_error(exc: httpx.TransportError, method: str, path: str) -> RetryLater:
    """The error to raise (``from exc``) when no answer came: could Visma have done the request?"""
    return http_errors.translate_transport_error(exc, "Visma", method, path)
