"""Every page carries the security headers; cookies are HttpOnly and SameSite; secure cookies
and HSTS follow whether Growth is served over HTTPS; the session key changes at sign-in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from growth.roles import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def csp(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    directives = (d.strip() for d in response["Content-Security-Policy"].split(";"))
    return {name: value for name, _sep, value in (d.partition(" ") for d in directives if d)}


@pytest.mark.parametrize("url", ["/", "/settings/users/", "/settings/audit/"])
def test_pages_carry_the_security_headers(client_as, url) -> None:  # type: ignore[no-untyped-def]
    response = client_as(Role.ADMIN).get(url)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    policy = csp(response)
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert "unsafe" not in response["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "Strict-Transport-Security" not in response  # plain HTTP here: no HSTS


def test_the_sign_in_page_and_its_cookies(client, user_with_role) -> None:  # type: ignore[no-untyped-def]
    user = user_with_role(Role.MARKETER)
    page = client.get("/login/")
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page.status_code == 200
    assert client.cookies["csrftoken"]["samesite"] == "Lax"
    assert "camera=()" in page["Permissions-Policy"]

    session = client.session  # an anonymous session, as a visitor may have one
    session["probe"] = 1
    session.save()
    old_key = session.session_key
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain-HTTP test server: HTTPS is off
    assert cookie.value and cookie.value != old_key  # a new session key at sign-in
    assert 0 < int(cookie["max-age"]) <= 24 * 60 * 60


def test_the_message_preview_frame_may_be_framed_by_growth_only(client_as) -> None:  # type: ignore[no-untyped-def]
    from automations.services.templates import template_create

    client = client_as(Role.MARKETER)
    template = template_create(
        actor=None,
        name="Hello",
        channel="email",
        purpose="transactional",
        default_locale="en",
        parts={"subject": "Hi", "html": "<p>Hi {{ contact.first_name }}</p>", "text": ""},
    )
    page = client.get(reverse("template_edit", args=[template.pk]))
    assert page["X-Frame-Options"] == "DENY"
    preview = client.get(reverse("template_preview", args=[template.pk]))
    assert preview.status_code == 200
    assert preview["X-Frame-Options"] == "SAMEORIGIN"  # the editor's frame, and no one else's
    assert preview["Content-Security-Policy"].startswith("sandbox")


def test_https_settings_follow_the_environment() -> None:
    """With HTTPS=1 the cookies are secure and HSTS is on; the default (make demo, tests,
    plain-HTTP localhost) leaves both off."""
    import os
    import subprocess
    import sys

    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='growth.settings'; "
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, "
        "s.SECURE_SSL_REDIRECT)"
    )
    for https, expected in (("1", "True True True True"), ("0", "False False False False")):
        env = {**os.environ, "HTTPS": https, "SECRET_KEY": "x" * 50, "DEBUG": "0"}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected, out.stderr
