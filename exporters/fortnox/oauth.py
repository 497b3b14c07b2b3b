"""Fortnox OAuth2: the shared flow of :mod:`exporters.oauth2` (``state``, PKCE S256, refresh, revoke) at
Fortnox's endpoints.

The token and revoke endpoints take HTTP Basic client authentication, as Fortnox requires (FACTS.md
section 1). Fortnox answers a dead refresh token with 400 ``invalid_grant`` (in a text/html body): the
connection then needs a person to connect again, which :class:`~exporters.core.errors.Reconnect` says.
Fortnox cannot revoke access tokens; they die within the hour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import httpx

from config.settings import FortnoxSettings
from exporters.fortnox import errors
from exporters.fortnox.tokens import RECONNECT_FIX, TokenSet, utc_now
from exporters.oauth2 import AuthorizationDenied, AuthorizationRequest, OAuth2Client

__all__ = [
    "ATTACHMENT_SCOPES",
    "BOOKKEEPING_SCOPES",
    "CLIENT_FIX",
    "INVOICING_SCOPES",
    "AuthorizationDenied",
    "AuthorizationRequest",
    "FortnoxOAuth",
    "scopes_needed",
]

#: What Dagskassa needs for vouchers and preflight; invoicing adds INVOICING_SCOPES.
BOOKKEEPING_SCOPES = ("bookkeeping", "costcenter", "companyinformation", "settings")
INVOICING_SCOPES = ("invoice", "order", "customer")
#: Attaching the Z-report PDF to its voucher: upload to the inbox, connect the file.
ATTACHMENT_SCOPES = ("inbox", "connectfile")

CLIENT_FIX = (
    "the Fortnox client id or secret in the settings is wrong (fortnox.client_id, fortnox.client_secret): "
    "copy them again from Fortnox's developer portal"
)


def scopes_needed(invoicing: bool, attachments: bool = True) -> tuple[str, ...]:
    """The scopes a connection asks for. Preflight checks them without ``attachments``: a voucher can be
    posted without them, and the missing attachment says so on the export."""
    return (
        BOOKKEEPING_SCOPES
        + (ATTACHMENT_SCOPES if attachments else ())
        + (INVOICING_SCOPES if invoicing else ())
    )


class FortnoxOAuth(OAuth2Client):
    """The OAuth2 client of one Fortnox app (client id and secret), over an injected httpx.Client."""

    service = "Fortnox"
    default_base_url = "https://apps.fortnox.se/oauth-v1"
    authorize_path = "/auth"
    token_path = "/token"
    revoke_path = "/revoke"
    client_fix = CLIENT_FIX
    reconnect_fix = RECONNECT_FIX
    declined_fix = "start the connection again and approve it in Fortnox (as a Fortnox administrator)"
    missing_code_fix = "start the connection again"
    token_type = TokenSet
    parse_error_body = staticmethod(errors.parse_error_body)
    raise_for_response = staticmethod(errors.raise_for_response)

    @classmethod
    def from_settings(
        cls, http: httpx.Client, settings: FortnoxSettings, now: Callable[[], datetime] = utc_now
    ) -> FortnoxOAuth:
        return cls(http, settings.client_id, settings.client_secret, settings.auth_url, now)

    @property
    def auth_url(self) -> str:
        return self.base_url

    def authorization_url(
        self,
        redirect_uri: str,
        scopes: Iterable[str],
        service_account: bool = False,
        state: str | None = None,
    ) -> AuthorizationRequest:
        """Where to send the browser. Keep the returned request: :meth:`exchange_code` needs it."""
        return self._authorization_url(
            redirect_uri,
            scopes,
            state,
            access_type="offline",
            account_type="service" if service_account else None,
        )
