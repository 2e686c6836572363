"""JSON errors for /api/ paths outside the DRF views: no route (404), a middleware that
fails because the database is down (503, not a 500 HTML page: growth.middleware_db notes
it), any other 500."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from growth.api.errors import database_down_message, json_error
from growth.middleware_db import RETRY_AFTER_SECONDS, database_was_down

API_PREFIX = "/api/"


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response  # already an API error body
        if database_was_down(request):
            response = json_error(503, database_down_message())
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if response.status_code == 404:
            return json_error(404, _("There is no such API endpoint: see /api/docs/."))
        if response.status_code >= 500:
            return json_error(500, _("Something went wrong on our side; it has been logged."))
        return json_error(response.status_code, response.reason_phrase)
