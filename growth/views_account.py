"""The signed-in user's own settings that are not an admin's business: the UI language."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from growth.models import User

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


@login_required
@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Saves the chosen language ("" = follow the browser) and goes back to the page."""
    code = request.POST.get("language", "")
    if code and code not in LANGUAGE_CODES:
        return HttpResponseBadRequest(_("Unknown language."))
    user = cast(User, request.user)  # login_required: never anonymous here
    user.language = code
    user.save(update_fields=["language"])
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "/"
    response = redirect(back)
    # The cookie keeps the choice on the sign-in page after signing out.
    if code:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    else:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
        )
    return response
