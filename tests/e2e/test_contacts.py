"""A marketer finds a contact, reads the timeline (loading more in place) and adds a note."""

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from growth.roles import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import ContactFactory, EventFactory, OrderFactory


def test_marketer_searches_opens_a_contact_and_adds_a_note(page: Page, user_with_role):
    user = user_with_role(Role.MARKETER)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@engines.example")
    ContactFactory(first_name="Grace", last_name="Hopper")
    now = datetime.now(UTC)
    for i in range(55):  # more than one timeline page
        EventFactory(contact=ada, name=f"Viewed page {i}", occurred_at=now - timedelta(hours=i + 1))
    OrderFactory(contact=ada, order_number="#1001", placed_at=now)

    sign_in(page, user.username, PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Contacts").click()
    page.get_by_label("Search").fill("lovelace")
    page.get_by_role("button", name="Search").click()
    table = page.get_by_test_id("contacts")
    expect(table).to_contain_text("Ada Lovelace")
    expect(table).not_to_contain_text("Grace")

    table.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_test_id("contact-name")).to_have_text("Ada Lovelace")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li[data-kind]").first).to_contain_text("Order #1001")
    expect(timeline.locator("li[data-kind]")).to_have_count(50)
    page.get_by_role("link", name="Load more").click()  # htmx appends in place
    expect(timeline.locator("li[data-kind]")).to_have_count(56)
    expect(timeline).to_contain_text("Viewed page 54")
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)

    page.get_by_label("Note").fill("Asked for a demo next week.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    expect(page.get_by_test_id("notes")).to_contain_text("Asked for a demo next week.")
