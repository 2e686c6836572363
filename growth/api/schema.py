"""The OpenAPI document: bearer auth, each operation's scope and capabilities, the error
body on every operation, and only /api/v1/ in it."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from growth.api import scopes
from growth.api.filters import Filters

DESCRIPTION = """
Growth's REST API. Every call sends an API key, created by an admin under
Admin → API keys (/settings/api-keys/) and shown once:

    Authorization: Bearer grw_AbCd1234_…

**Scopes.** A key has, per resource, `read` or `write` (write includes read). Reading
needs `<resource>:read`, anything else `<resource>:write`; a missing scope is a 403 that
names it. Each operation below says which scope it needs. People signed in to Growth may
call the API from this page with their session (their roles decide, and a sales rep sees
only the contacts of their own queue).

**Errors** all have one body, with `fields` for invalid input:

    {"error": {"code": "invalid", "message": "…", "fields": {"email": ["…"]}}}

Codes: `invalid`, `parse_error` (400), `not_authenticated`, `authentication_failed` (401:
no key, or an unknown, revoked or expired one), `permission_denied` (403), `not_found`
(404: also an object that is not yours to see), `method_not_allowed` (405), `conflict`
(409), `payload_too_large` (413), `unsupported_media_type` (415: send JSON), `throttled`
(429), `unavailable` (503).

**Pagination.** Lists return `{"next", "previous", "results"}`; follow `next` until it is
null. `page_size` sets the page (default 50, at most 200).

**Rate limits.** Each key has its requests per minute (600 unless set otherwise). Over
it, the answer is 429 with `Retry-After` seconds.
"""

ERROR_STATUSES = {
    "400": "Invalid input: a field, a filter or the JSON.",
    "401": "No key, or an unknown, revoked or expired one.",
    "403": "The key lacks the scope, or the person the capability.",
    "404": "Not found, or not yours to see.",
    "409": "The object's state does not allow it (merged or erased).",
    "413": "The body is too large.",
    "415": "The body is not JSON.",
    "429": "Too many requests: see Retry-After.",
    "503": "The database is unavailable.",
}
BODY_STATUSES = {"409", "413", "415"}  # only operations that take a body


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # The metaclass takes declared fields off the class: "fields" shadows nothing.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class Error(serializers.Serializer):
    error = ErrorDetail()


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "growth.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Authorization: Bearer grw_…`.",
        }


class AutoSchema(SpectacularAutoSchema):
    def _access_line(self) -> str:
        access = getattr(self.view, "access", None)
        if access is None:
            return ""
        level = access.level(self.method)
        capabilities = " or ".join(f"`{c.value}`" for c in access.capabilities(level))
        return f"\n\nScope: `{scopes.label(access.scope, level)}`" + (
            f"; signed in: {capabilities}." if capabilities else "; keys only."
        )

    def get_description(self) -> str:  # type: ignore[override]
        return (super().get_description() or "") + self._access_line()

    def get_tags(self) -> list[str]:
        access = getattr(self.view, "access", None)
        return [access.scope] if access is not None else super().get_tags()

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        filters: type[Filters] | None = getattr(self.view, "filters", None)
        if self.method == "GET" and filters is not None and filters().fields:
            parameters.insert(0, filters)
        return parameters

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        bodies = super()._get_response_bodies(direction)
        ref = self.resolve_serializer(Error, "response").ref
        has_body = self.method in ("POST", "PUT", "PATCH")
        for status, description in ERROR_STATUSES.items():
            if status in BODY_STATUSES and not has_body:
                continue
            bodies.setdefault(
                status,
                {"content": {"application/json": {"schema": ref}}, "description": description},
            )
        return bodies


def only_the_api(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    return [e for e in endpoints if e[0].startswith("/api/v1/")]


def describe(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("info", {})["description"] = DESCRIPTION.strip()
    result["security"] = [{"ApiKey": []}]
    return result
