import re

import pytest
from django.urls import reverse

from growth import navigation
from growth.roles import Role
from tests.growth.test_roles import EXPECTED_SECTIONS

ALL_SECTIONS = {key for keys in EXPECTED_SECTIONS.values() for key in keys}
pytestmark = pytest.mark.django_db


def test_pages_need_sign_in(client):
    for name in ["home", "users", "system", "queue", "contacts"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", list(Role))
def test_each_role_opens_its_sections_and_is_refused_the_rest(client_as, role):
    client = client_as(role)
    assert client.get(reverse("home")).status_code == 200
    for key in ALL_SECTIONS:
        section = navigation.get(key)
        response = client.get(reverse(section.url_name))
        if key in EXPECTED_SECTIONS[role]:
            assert response.status_code == 200, key
        else:
            assert response.status_code == 403, key
            roles_needed = [str(r.label) for r in Role if key in EXPECTED_SECTIONS[r]]
            assert all(label in response.content.decode() for label in roles_needed)


def test_home_lists_the_role_sections_with_empty_states(client_as):
    body = client_as(Role.REP).get(reverse("home")).content.decode()
    assert 'data-section="queue"' in body
    assert 'data-section="journeys"' not in body
    assert str(navigation.get("queue").how) in body


def test_forbidden_page_names_the_role_needed(client_as):
    response = client_as(Role.REP).get(reverse("users"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "This page needs the Admin role." in body
    assert "Sales rep" in body  # the user's own roles, so they know what to ask for


def test_section_empty_state_says_what_and_how(client_as):
    body = client_as(Role.MARKETER).get(reverse("ad_spend")).content.decode()
    section = navigation.get("ad_spend")
    assert str(section.what) in body and str(section.how) in body


def test_pages_carry_a_csp_without_inline_scripts(client_as):
    response = client_as(Role.ADMIN).get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    scripts = re.findall(r"<script[^>]*>", response.content.decode())
    assert scripts and all("src=" in tag for tag in scripts)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_logout_is_a_post_and_ends_the_session(client_as):
    client = client_as(Role.MANAGER)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_password_change(client, user_with_role):
    from tests.factories import PASSWORD

    user = user_with_role(Role.REP)
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-better-pass-42",
            "new_password2": "a-much-better-pass-42",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-much-better-pass-42")


def test_wrong_password_gets_a_clear_message(client, user_with_role):
    user = user_with_role(Role.REP)
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "That user name and password do not match" in response.content.decode()
