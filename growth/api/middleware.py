"""JSON errors for /api/ paths outside the DRF views: no route (404), a middleware that
fails because the database is down (503, not a 500 HTML page), any other 500."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from growth.api.errors import DATABASE_ERRORS, database_down_message, json_error

API_PREFIX = "/api/"


@receiver(got_request_exception, dispatch_uid="growth.api.middleware")
def _remember_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Django turns an exception in a middleware into a 500 response before we see it; note
    what it was (the signal is sent while it is being handled) to answer 503 for the DB."""
    if request is not None:
        request._api_exception = sys.exc_info()[1]  # type: ignore[attr-defined]


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response  # already an API error body
        if isinstance(getattr(request, "_api_exception", None), DATABASE_ERRORS):
            response = json_error(503, database_down_message())
            response["Retry-After"] = "30"
            return response
        if response.status_code == 404:
            return json_error(404, _("There is no such API endpoint: see /api/docs/."))
        if response.status_code >= 500:
            return json_error(500, _("Something went wrong on our side; it has been logged."))
        return json_error(response.status_code, response.reason_phrase)
