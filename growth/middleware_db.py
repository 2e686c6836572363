"""The web UI when the database is down: a clear 503 page with Retry-After, not a 500.

Django turns an exception into a 500 response in whichever layer raised it (the view, the
session load in a middleware, the session save on the way out), so no outer middleware ever
sees it raised. The `got_request_exception` signal is sent while it is being handled: the
receiver notes a database error on the request, and this middleware, near the top of the
stack, swaps the 500 it receives for the 503 page. The page renders without a request
context: its context processors would ask the database again.

/api/ answers in JSON on its own (growth.api.middleware); /healthz answers 503 itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.template import loader

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"


@receiver(got_request_exception, dispatch_uid="growth.middleware_db")
def _note_database_error(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    error = sys.exc_info()[1]
    if request is not None and isinstance(error, DATABASE_ERRORS):
        request._database_down = True  # type: ignore[attr-defined]


def database_was_down(request: HttpRequest) -> bool:
    """Whether handling this request failed because the database could not be reached (the
    web UI's 503 page here, the API's JSON 503 in growth.api.middleware)."""
    return getattr(request, "_database_down", False)


def database_down_response() -> HttpResponse:
    html = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # The headers the inner middleware (CSP, clickjacking) never got to add.
    response["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    response["X-Frame-Options"] = "DENY"
    return response


class DatabaseDownMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 500
            and database_was_down(request)
            and not request.path.startswith(API_PREFIX)
        ):
            return database_down_response()
        return response
