"""Fortnox's error answers, as real Fortnox sends them (FACTS.md 3.3, 3.4 and the recordings).

Two casings of ``ErrorInformation`` exist in real traffic, and the sandbox sends both so clients must
parse both: a not-found (404) uses ``{"Error", "Message", "Code"}``, a validation error (400) uses
``{"error", "message", "code"}``.

Codes marked CONFIRMED come from Fortnox's error list or recordings. Fortnox's codes for the others are
not known (FACTS.md section 10); the sandbox uses its own codes in the 2099xxx range for them, so a
client can tell at a glance that it matched a sandbox-chosen code, and must not rely on them: match
those errors by message too, or treat them as "refused, show Fortnox's message".
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# -- CONFIRMED ------------------------------------------------------------------------------------------
ACCOUNT_NOT_FOUND = 2001304  # "Kunde inte hitta konto" (Fortnox error list)
LOCKED_PERIOD = 2000401  # "... har låst perioden t.o.m. {date}" (integrator help pages)
COST_CENTER_INACTIVE = 2000947  # inactive cost center on a journal entry (integrator help pages)
NO_LICENSE = 2001101  # "Det finns ingen aktiv licens för önskat scope" (Fortnox error list)
NOT_AUTHORISED_FOR_SCOPE = 2000663  # "Not authorised for scope" (third-party mapping of Fortnox codes)
INVALID_FILTER = 2000587  # "Ett ogiltigt filter har använts." (recorded)
INVALID_FIELD_NAME = 2001399  # (Fortnox error list)
EMPTY_BODY = 2001392  # empty or incorrect body (Fortnox error list)
JSON_SYNTAX = 2002115  # (Fortnox error list)
NOT_ALPHANUMERIC = 2000106
NOT_NUMERIC = 2000108
NOT_BOOLEAN = 2000134
INVALID_PARAMETER = 2000588
SYSTEM_ERROR = 1000003
CUSTOMER_NOT_FOUND = 2000433  # "Kan inte hitta kunden." (recorded)
INVOICE_NOT_FOUND = 2000434  # "Kan inte hitta fakturan." (recorded)
ORDER_NOT_FOUND = 2000439  # "Kan inte hitta ordern." (recorded)
PROJECT_NOT_FOUND = 2001161  # "Kan inte hitta projektet." (recorded)
CUSTOMER_NUMBER_RESERVED = 2000637  # a deleted customer's number stays taken (FACTS.md section 4)

# -- UNCONFIRMED: chosen by the sandbox -------------------------------------------------------------------
VOUCHER_UNBALANCED = 2099001  # message invented: "Verifikationen är inte i balans"
VOUCHER_TOO_FEW_ROWS = 2099002  # message invented
ACCOUNT_INACTIVE = 2099003  # message from POS vendors' help pages: 'Konto "1910" är inte aktivt'
NO_FINANCIAL_YEAR = 2099004  # message from Fortnox's UI: "Räkenskapsår saknas för valt datum"
SERIES_NOT_FOUND = 2099005  # message from Nox Finans' help: "Ogiltig verifikationsserie angiven"
SERIES_NOT_MANUAL = 2099006  # message from POS vendors' help: "Verifikationsserien är inte manuell (K)"
COST_CENTER_NOT_FOUND = 2099007
COST_CENTER_MANDATORY = 2099008  # message from Nox Finans' help: "Kostnadsställe är obligatoriskt ..."
COST_CENTER_NOT_ALLOWED = 2099009
PROJECT_MANDATORY = 2099010  # message from Nox Finans' help: "Projekt är obligatoriskt på konto"
PROJECT_INACTIVE = 2099011
VOUCHER_NOT_FOUND = 2099012
FINANCIAL_YEAR_NOT_FOUND = 2099013
COST_CENTER_EXISTS = 2099014
CUSTOMER_NUMBER_TAKEN = 2099015
INVOICE_ALREADY_BOOKED = 2099016
ORDER_ALREADY_INVOICED = 2099017
ACCOUNT_EXISTS = 2099018
SERIES_EXISTS = 2099019
REQUIRED_FIELD_MISSING = 2099020
PROJECT_NOT_ALLOWED = 2099022
VALUE_OUT_OF_RANGE = 2099021  # too long, too short, below minimum, not in the enumeration, bad date
FILE_NOT_FOUND = 2099023  # "Kan inte hitta filen." (inbox and file connections)
FILE_ALREADY_CONNECTED = 2099024  # a file is connected to one voucher at most
FILE_INVALID = 2099025  # no file part, an empty file, or too large
FOLDER_NOT_FOUND = 2099026


@dataclass
class ApiError(Exception):
    """Raised by a view; rendered as Fortnox's ErrorInformation body."""

    status: int
    code: int
    message: str

    def body(self) -> bytes:
        keys = ("Error", "Message", "Code") if self.status == 404 else ("error", "message", "code")
        info = dict(zip(keys, (1, self.message, self.code), strict=True))
        return json.dumps({"ErrorInformation": info}, ensure_ascii=True).encode()


def invalid(code: int, message: str) -> ApiError:
    """A 400 validation error (lowercase keys)."""
    return ApiError(400, code, message)


def not_found(code: int, message: str) -> ApiError:
    """A 404 (capitalised keys)."""
    return ApiError(404, code, message)
