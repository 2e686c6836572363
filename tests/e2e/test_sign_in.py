"""Each role signs in and finds its own navigation; the wrong password and the wrong page
get clear answers."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from growth import navigation
from growth.roles import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.growth.test_roles import EXPECTED_SECTIONS


@pytest.mark.parametrize("role", list(Role))
def test_each_role_signs_in_and_sees_its_navigation(page: Page, live_server, user_with_role, role):
    user = user_with_role(role, first_name="Pat")
    sign_in(page, user.username, PASSWORD)

    expect(page.get_by_role("heading", name="Welcome, Pat")).to_be_visible()
    nav = page.get_by_test_id("nav")
    shown = set(
        nav.locator("[data-section]").evaluate_all("els => els.map(e => e.dataset.section)")
    )
    assert shown == EXPECTED_SECTIONS[role]
    expect(page.get_by_test_id("current-user")).to_have_text(user.get_full_name())

    # Every section in the menu opens and says what will appear there.
    for key in sorted(shown):
        nav.locator(f"[data-section='{key}']").click()
        expect(page).to_have_url(live_server.url + reverse(navigation.get(key).url_name))
        expect(page.locator("h1")).to_contain_text(str(navigation.get(key).label))


def test_wrong_password_gets_a_clear_message(page: Page, user_with_role):
    user = user_with_role(Role.REP)
    sign_in(page, user.username, "not-the-password")
    expect(page.get_by_test_id("login-error")).to_contain_text("do not match")
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_rep_opening_an_admin_page_gets_the_403_page(page: Page, user_with_role):
    user = user_with_role(Role.REP)
    sign_in(page, user.username, PASSWORD)
    expect(page.get_by_test_id("nav")).to_be_visible()
    response = page.goto("/settings/users/")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("forbidden")).to_contain_text("This page needs the Admin role.")
    page.get_by_role("link", name="Back to your home page").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()


def test_admin_creates_a_rep_who_can_then_sign_in(page: Page, user_with_role, browser, live_server):
    admin = user_with_role(Role.ADMIN)
    sign_in(page, admin.username, PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="New user").click()
    page.get_by_label("User name").fill("newrep")
    page.get_by_label("Sales rep").check()
    page.get_by_label("Password").fill("a-long-enough-pass-7")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("User newrep created.")).to_be_visible()
    expect(page.get_by_test_id("users")).to_contain_text("newrep")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "newrep", "a-long-enough-pass-7")
    shown = (
        page.get_by_test_id("nav")
        .locator("[data-section]")
        .evaluate_all("els => els.map(e => e.dataset.section)")
    )
    assert shown == ["queue", "my_contacts", "inbox"]
