"""A sales manager designs a cadence by clicking: from the empty list to a new cadence with
three steps (a call, an automatic e-mail with its template, a manual SMS), added in the
page by the steps script, with one step moved into place; saves the draft, publishes it,
and sees it active with version 1 in the list."""

from playwright.sync_api import Page, expect

from automations.models import MessageTemplate
from cadences.models import Cadence
from growth.roles import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


def test_sales_manager_designs_publishes_and_sees_a_cadence_active(page: Page, user_with_role):
    manager = user_with_role(Role.SALES_MANAGER)
    MessageTemplate.objects.create(name="Welcome e-mail", channel="email", purpose="sales")
    MessageTemplate.objects.create(name="Check-in SMS", channel="sms", purpose="sales")

    sign_in(page, manager.username, PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Cadences").click()
    expect(page.get_by_test_id("empty")).to_contain_text("No cadence yet")
    expect(page.get_by_test_id("install-publish-7-in-7")).to_be_visible()

    page.get_by_test_id("new-cadence").click()
    expect(page.get_by_role("heading", name="New cadence")).to_be_visible()
    page.get_by_label("Name").fill("Speed to lead")
    page.get_by_label("Countries").fill("de, at")

    rows = page.get_by_test_id("step-row")
    expect(rows).to_have_count(1)
    first = rows.nth(0)
    first.get_by_label("Day").fill("0")
    first.get_by_label("Touch").select_option(label="Call (leave a voicemail)")
    # Calls use no template: the field only appears for e-mail and SMS steps.
    expect(first.get_by_label("Template")).to_be_hidden()
    first.get_by_label("Script").fill("Hi, this is Ana from the shop: you were looking at …")

    # Added by the script, in the page: the new row starts on the day of the one above.
    page.get_by_test_id("add-step").click()
    expect(rows).to_have_count(2)
    second = rows.nth(1)
    expect(second.get_by_label("Day")).to_be_focused()
    expect(second.get_by_label("Day")).to_have_value("0")
    second.get_by_label("Day").fill("2")
    second.get_by_label("Touch").select_option(label="Manual SMS")

    page.get_by_test_id("add-step").click()
    expect(rows).to_have_count(3)
    third = rows.nth(2)
    third.get_by_label("Day").fill("0")
    third.get_by_label("Touch").select_option(label="Automatic e-mail")
    template = third.get_by_label("Template")
    expect(template).to_be_visible()
    # Only e-mail templates are offered to an e-mail step.
    expect(template.locator("option", has_text="Check-in SMS")).to_be_disabled()
    template.select_option(label="Welcome e-mail (e-mail)")
    # The e-mail goes out on day 0 as well: one place up, before the day-2 SMS.
    third.get_by_role("button", name="Move up").click()
    expect(rows.nth(1).get_by_label("Touch")).to_have_value("email_auto")
    expect(rows.nth(2).get_by_label("Touch")).to_have_value("sms_manual")

    page.get_by_test_id("save").click()
    expect(page.get_by_role("heading", name="Speed to lead")).to_be_visible()
    expect(page.get_by_test_id("draft")).to_contain_text("Not published yet")
    expect(page.get_by_test_id("status")).to_have_text("draft")

    page.get_by_test_id("publish").click()
    expect(page.get_by_role("status")).to_contain_text("Published as version 1")
    expect(page.get_by_test_id("status")).to_have_text("active")
    expect(page.get_by_test_id("live-step")).to_have_count(3)
    expect(page.get_by_test_id("live-steps")).to_contain_text("Welcome e-mail")

    page.get_by_test_id("cadence-nav").get_by_role("link", name="Cadences").click()
    row = page.locator('[data-testid="cadence-row"][data-cadence="Speed to lead"]')
    expect(row.get_by_test_id("status")).to_have_text("active")
    expect(row.get_by_test_id("live-version")).to_have_text("version 1")
    expect(row.get_by_test_id("steps")).to_have_text("3")

    cadence = Cadence.objects.get(name="Speed to lead")
    assert cadence.rules == {"countries": ["DE", "AT"]}
    live = list(cadence.live.steps.order_by("position"))
    assert [(s.day, s.kind, s.template.name if s.template else None) for s in live] == [
        (0, "call", None),
        (0, "email_auto", "Welcome e-mail"),
        (2, "sms_manual", None),
    ]
    assert live[0].script.startswith("Hi, this is Ana")
