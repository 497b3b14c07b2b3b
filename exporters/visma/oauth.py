"""Visma OAuth2 against its identity server: the shared flow of :mod:`exporters.oauth2` (``state``, PKCE
S256, single-use refresh tokens, revocation) at Visma's endpoints.

Token requests are form-encoded with HTTP Basic client authentication (Visma's own sample; the body form
works too). A refresh answered with ``invalid_grant`` means the refresh token is dead (used already,
revoked, or the user changed password): a person must connect again
(:class:`~exporters.core.errors.Reconnect`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import httpx

from config.settings import VismaSettings
from exporters.oauth2 import AuthorizationDenied, AuthorizationRequest, OAuth2Client
from exporters.tokens import utc_now
from exporters.visma import errors
from exporters.visma.errors import RECONNECT_FIX

__all__ = ["CLIENT_FIX", "SCOPES", "AuthorizationDenied", "AuthorizationRequest", "VismaOAuth"]

#: ``ea:api`` and ``offline_access`` are required by Visma; ``ea:accounting`` posts vouchers and reads the
#: chart; ``ea:sales_readonly`` is needed only for GET /companysettings, where the lock date lives
#: (FACTS.md section 1: that endpoint takes no accounting scope).
SCOPES = ("ea:api", "ea:accounting", "ea:sales_readonly", "offline_access")

CLIENT_FIX = (
    "the Visma client id or secret in the settings is wrong (visma.client_id, visma.client_secret): copy "
    "them again from Visma's developer portal"
)


class VismaOAuth(OAuth2Client):
    """The OAuth2 client of one Visma app (client id and secret), over an injected httpx.Client."""

    service = "Visma"
    default_base_url = "https://identity.vismaonline.com"
    authorize_path = "/connect/authorize"
    token_path = "/connect/token"
    revoke_path = "/connect/revocation"
    client_fix = CLIENT_FIX
    reconnect_fix = RECONNECT_FIX
    declined_fix = "start the connection again and approve it on Visma's page"
    missing_code_fix = "start again"
    reconnect_errors = OAuth2Client.reconnect_errors | {"invalid_scope"}
    parse_error_body = staticmethod(errors.parse_error_body)
    raise_for_response = staticmethod(errors.raise_for_response)

    @classmethod
    def from_settings(
        cls, http: httpx.Client, settings: VismaSettings, now: Callable[[], datetime] = utc_now
    ) -> VismaOAuth:
        return cls(http, settings.client_id, settings.client_secret, settings.identity_url, now)

    @property
    def identity_url(self) -> str:
        return self.base_url

    def authorization_url(
        self,
        redirect_uri: str,
        scopes: Iterable[str] = SCOPES,
        state: str | None = None,
        prompt: str | None = None,
    ) -> AuthorizationRequest:
        """Where to send the browser (``prompt="login"`` forces choosing the company again)."""
        return self._authorization_url(redirect_uri, scopes, state, prompt=prompt)
