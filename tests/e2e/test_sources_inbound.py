"""An admin connects a site: creates a tracking source, copies its key (shown once), and
finds the inbound log waiting for data."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from growth.roles import Role
from leads.models import Source
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


def test_admin_creates_a_tracking_source_and_sees_the_key_once(page: Page, user_with_role):
    admin = user_with_role(Role.ADMIN)
    sign_in(page, admin.username, PASSWORD)

    nav = page.get_by_test_id("nav")
    nav.get_by_role("link", name="Sources").click()
    expect(page.get_by_text("Create a source, then paste its snippet")).to_be_visible()
    page.get_by_role("link", name="New source").click()
    page.get_by_label("Name").fill("Web shop")
    page.get_by_label("Kind").select_option("tracking")
    page.get_by_label("Allowed origins").fill("https://shop.example.com")
    page.get_by_role("button", name="Create source").click()

    expect(page.get_by_test_id("shown-once")).to_contain_text("will not be shown again")
    key = page.get_by_test_id("credential").inner_text().strip()
    assert Source.objects.get().write_key_hash == Source.hash_key(key)
    expect(page.get_by_test_id("snippet")).to_contain_text(f'data-write-key="{key}"')
    expect(page.get_by_test_id("endpoint")).to_contain_text("/ingest/v1/batch")

    page.get_by_role("link", name="I have copied it").click()
    expect(page.get_by_test_id("key-hint")).to_contain_text(key[:6])
    assert key not in page.content()

    nav.get_by_role("link", name="Sources").click()
    expect(page.get_by_test_id("sources")).to_contain_text("Web shop")
    assert key not in page.content()

    nav.get_by_role("link", name="Inbound").click()
    expect(page.locator("h1")).to_have_text("Inbound")
    expect(page.get_by_text("Deliveries appear as soon as a source sends data")).to_be_visible()
