"""One error body for every API failure:

    {"error": {"code": "invalid", "message": "…", "fields": {"email": ["…"]}}}

`fields` is there only for invalid input (400). The exception handler turns DRF's errors,
Django's 404 / permission errors and a database that is down (503) into it; the middleware
(growth.api.middleware) does the same for what happens outside DRF views.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from growth.middleware_db import DATABASE_ERRORS, RETRY_AFTER_SECONDS


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the object's state."


CODES = {  # for statuses whose exception carries no code of its own
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    503: "unavailable",
}


def body(code: str, message: str, fields: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = dict(fields)
    return {"error": error}


def database_down_message() -> str:
    return _("The database is unavailable; try again in a moment.")


def json_error(status_code: int, message: str, code: str | None = None) -> JsonResponse:
    return JsonResponse(body(code or CODES.get(status_code, "error"), message), status=status_code)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """{"lines.0.sku": ["…"]} from DRF's nested error detail."""
    if isinstance(detail, Mapping):
        out: dict[str, list[str]] = {}
        for name, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else str(name)))
        return out
    if isinstance(detail, list) and any(isinstance(d, Mapping | list) for d in detail):
        out = {}
        for i, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}.{i}" if prefix else str(i)))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(m) for m in messages]} if messages else {}


def _described(exc: exceptions.APIException) -> tuple[str, str, dict[str, list[str]]]:
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        general = fields.pop("non_field_errors", [])
        message = " ".join(general) or _("Some of the input is not valid: see fields.")
        return "invalid", message, fields
    code = exc.get_codes() if not isinstance(exc.detail, dict | list) else None
    if isinstance(exc, exceptions.Throttled):
        message = _("Too many requests: the limit is per minute. Retry in %(s)s seconds.") % {
            "s": getattr(exc, "wait", None)
        }
        return "throttled", message, {}
    if isinstance(exc, exceptions.ParseError):
        return "parse_error", _("The body is not valid JSON: %(error)s") % {"error": exc.detail}, {}
    return str(code or CODES.get(exc.status_code, "error")), str(exc.detail), {}


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    if isinstance(exc, DATABASE_ERRORS):
        return Response(
            body("unavailable", database_down_message()),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found, or not yours to see."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, dict(context))  # headers: Retry-After, WWW-Authenticate
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # a bug: Django's 500 (the middleware answers it in JSON)
    code, message, fields = _described(exc)
    response.data = body(code, message, fields)
    return response
