"""The signed-in user's own language wins over the browser's.

LocaleMiddleware runs before authentication (it has no user yet) and picks the language from
the language cookie or Accept-Language; this middleware, after AuthenticationMiddleware,
switches to `User.language` when the user has set one. Empty keeps the browser's choice.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user and user.is_authenticated else ""
        if language in LANGUAGE_CODES:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        # LocaleMiddleware's response half (Content-Language, Vary) runs after this returns
        # and reads the language active now.
        return self.get_response(request)
