"""`Authorization: Bearer <key>`: the request acts with the key's scopes; the key's creator
is request.user, so audit records and services name who issued the key."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from growth.api.keys import KeyRefused, api_key_check

REFUSALS = {
    "unknown": lambda: _("This API key is not valid: check it was copied whole."),
    "revoked": lambda: _("This API key was revoked: ask an admin for a new one."),
    "expired": lambda: _("This API key has expired: ask an admin for a new one."),
}


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # no key: the session may still sign the request
        if len(header) != 2:
            raise AuthenticationFailed(_("Send the key as: Authorization: Bearer <key>."))
        try:
            key = api_key_check(header[1].decode("ascii", errors="replace"))
        except KeyRefused as refused:
            raise AuthenticationFailed(REFUSALS[str(refused)]()) from None
        return (key.created_by or AnonymousUser(), key)

    def authenticate_header(self, request: Request) -> str:
        # Makes an unauthenticated call a 401 (not a 403) with a challenge.
        return f'{self.keyword} realm="api"'
