"""Fortnox's error answers in every shape the recordings show, and what each means for the caller.

The bodies are written here in the shapes real Fortnox sends (FACTS.md 3.4): capitalised keys on 404s,
lower-case on 400s, the code as a string, OAuth errors served as text/html, a bare ``message`` on 401,
and HTML when the API is down. Responses are real httpx objects, as a transport would build them.
"""

from __future__ import annotations

import httpx
import pytest

from exporters.core.errors import NotFound, OutcomeUnknown, Reconnect, Rejected, RetryLater
from exporters.fortnox.errors import (
    UNKNOWN_FIX,
    Unauthorized,
    fix_for,
    parse_error_body,
    raise_for_response,
    translate_transport_error,
)


def answer(
    status: int, body: str, method: str = "POST", headers: dict[str, str] | None = None
) -> httpx.Response:
    request = httpx.Request(method, "https://api.fortnox.se/3/vouchers")
    return httpx.Response(status, content=body.encode(), headers=headers or {}, request=request)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            '{"ErrorInformation":{"Error":1,"Message":"Kan inte hitta kunden.","Code":2000433}}',
            2000433,
            "Kan inte hitta kunden.",
        ),
        (
            '{"ErrorInformation":{"error":1,"message":"Kunde inte hitta konto","code":2001304}}',
            2001304,
            "Kunde inte hitta konto",
        ),
        (
            '{"ErrorInformation":{"error":1,"message":"Ogiltig parameter","code":"2000588"}}',
            2000588,
            "Ogiltig parameter",
        ),
        ('{"message":"unauthorized"}', None, "unauthorized"),
        (
            "<html><body><h1>503 Service Unavailable</h1></body></html>",
            None,
            "<html><body><h1>503 Service Unavailable</h1></body></html>",
        ),
        ("", None, "(empty answer)"),
        ('{"ErrorInformation":{"Message":"Underhåll pågår"}}', None, "Underhåll pågår"),
    ],
)
def test_every_error_shape_gives_code_and_message(body: str, code: int | None, message: str) -> None:
    parsed = parse_error_body(body.encode())
    assert (parsed.code, parsed.message) == (code, message)


def test_oauth_error_body_is_read_as_oauth() -> None:
    parsed = parse_error_body(b'{"error":"invalid_grant","error_description":"Invalid refresh token"}')
    assert parsed.oauth_error == "invalid_grant"
    assert parsed.message == "Invalid refresh token"


def test_400_is_rejected_with_code_message_and_fix() -> None:
    body = '{"ErrorInformation":{"error":1,"message":"Kunde inte hitta konto","code":2001304}}'
    with pytest.raises(Rejected) as caught:
        raise_for_response(answer(400, body))
    assert caught.value.code == 2001304
    assert caught.value.message == "Kunde inte hitta konto"
    assert "chart of accounts" in caught.value.fix


def test_locked_period_fix_tells_to_unlock() -> None:
    body = '{"ErrorInformation":{"error":1,"message":"Bolaget har låst perioden t.o.m. 2025-12-31.","code":"2000401"}}'
    with pytest.raises(Rejected) as caught:
        raise_for_response(answer(400, body))
    assert caught.value.code == 2000401
    assert "unlock the period" in caught.value.fix


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("Verifikationsserien är inte manuell (A)", "tick 'Manuell'"),
        ("Voucher series is not manual (X)", "tick 'Manuell'"),
        ('Konto "1910" är inte aktivt', "activate it in the chart of accounts"),
        ("Räkenskapsår saknas för valt datum", "create the new financial year"),
        ("Ogiltig verifikationsserie angiven", "does not exist in Fortnox for that financial year"),
        ("Kostnadsställe är obligatoriskt på konto 3001", "set the store's cost center"),
        ("Kan inte hitta kostnadsställe X1", "Kostnadsställen"),
        ("Verifikationen är inte i balans", "does not balance"),
    ],
)
def test_refusals_with_unpublished_codes_get_their_fix_from_the_words(message: str, words: str) -> None:
    assert words in fix_for(2099999, message)


def test_an_unknown_refusal_still_says_what_to_do() -> None:
    assert fix_for(None, "Något helt annat") == UNKNOWN_FIX


def test_licence_codes_mean_reconnect_not_fix_data() -> None:
    body = '{"ErrorInformation":{"error":1,"message":"Det finns ingen aktiv licens för önskat scope","code":2001101}}'
    with pytest.raises(Reconnect) as caught:
        raise_for_response(answer(400, body, "GET"))
    assert "licence" in caught.value.fix


def test_404_is_not_found_and_401_is_unauthorized() -> None:
    with pytest.raises(NotFound):
        raise_for_response(
            answer(
                404,
                '{"ErrorInformation":{"Error":1,"Message":"Kan inte hitta kunden.","Code":2000433}}',
                "GET",
            )
        )
    with pytest.raises(Unauthorized):
        raise_for_response(answer(401, '{"message":"unauthorized"}', "GET"))


def test_429_is_retry_later_with_retry_after_when_given() -> None:
    with pytest.raises(RetryLater) as caught:
        raise_for_response(answer(429, "", "POST", {"Retry-After": "3"}))
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.retry_after == 3.0
    with pytest.raises(RetryLater) as caught:
        raise_for_response(answer(429, "Too Many Requests", "GET"))
    assert caught.value.retry_after is None


def test_retry_after_as_http_date() -> None:
    headers = {"Retry-After": "Wed, 01 Feb 2023 09:45:10 GMT", "Date": "Wed, 01 Feb 2023 09:45:05 GMT"}
    with pytest.raises(RetryLater) as caught:
        raise_for_response(answer(503, "<html>down</html>", "GET", headers))
    assert caught.value.retry_after == 5.0


def test_5xx_on_a_post_may_have_been_stored() -> None:
    with pytest.raises(OutcomeUnknown):
        raise_for_response(
            answer(500, '{"ErrorInformation":{"error":1,"message":"Systemfel","code":1000003}}')
        )
    with pytest.raises(RetryLater) as caught:
        raise_for_response(answer(500, "<html>oops</html>", "GET"))
    assert not isinstance(caught.value, OutcomeUnknown)
    with pytest.raises(RetryLater) as caught:
        raise_for_response(answer(503, "<html>down</html>", "POST"))
    assert not isinstance(caught.value, OutcomeUnknown)


def test_2xx_passes() -> None:
    raise_for_response(answer(201, '{"Voucher":{}}'))


@pytest.mark.parametrize(
    ("error", "method", "unknown"),
    [
        (httpx.ConnectError("refused"), "POST", False),
        (httpx.ConnectTimeout("slow"), "POST", False),
        (httpx.ReadTimeout("no answer"), "POST", True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "POST", True),
        (httpx.ReadTimeout("no answer"), "GET", False),
        (httpx.ReadError("reset"), "GET", False),
    ],
)
def test_network_failures(error: httpx.TransportError, method: str, unknown: bool) -> None:
    error.request = httpx.Request(method, "https://api.fortnox.se/3/vouchers")
    translated = translate_transport_error(error, method)
    assert isinstance(translated, RetryLater)
    assert isinstance(translated, OutcomeUnknown) is unknown
    assert "/3/vouchers" in translated.message
