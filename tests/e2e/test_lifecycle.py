"""A marketer tunes the MQL definition with a preview; a sales manager moves a contact's
stage by hand with a reason."""

from playwright.sync_api import Page, expect

from growth.roles import Role
from leads.models import Contact, QualificationDefinition, StageChange
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import ContactFactory, EventFactory


def viewed(contact: Contact, *products: str) -> None:
    for product in products:
        EventFactory(contact=contact, name="Product Viewed", properties={"product_id": product})


def test_marketer_edits_the_mql_definition_and_sees_the_preview(page: Page, user_with_role):
    marketer = user_with_role(Role.MARKETER)
    two, also_two, one = ContactFactory(), ContactFactory(), ContactFactory()
    viewed(two, "a", "b")
    viewed(also_two, "a", "c")
    viewed(one, "a")
    sign_in(page, marketer.username, PASSWORD)

    page.goto("/scoring/definitions/")
    page.get_by_role("link", name="Marketing-qualified lead").click()
    at_least = page.locator('input[name="criteria-0-at_least"]')
    expect(at_least).to_have_value("3")
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-count")).to_have_text("0")

    at_least.fill("2")
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-count")).to_have_text("2")
    expect(page.get_by_test_id("preview-examples")).to_contain_text(two.display_name)

    at_least.fill("0")  # wrong: the error shows next to the field, nothing is saved
    page.get_by_test_id("save-button").click()
    expect(page.get_by_text("Enter a number from 1 to 1000.")).to_be_visible()
    page.locator('input[name="criteria-0-at_least"]').fill("2")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_text("Saved “Marketing-qualified lead”.", exact=False)).to_be_visible()
    definition = QualificationDefinition.objects.get(kind="mql")
    assert definition.criteria[0]["min_products"] == 2 and definition.version == 2


def test_sales_manager_moves_a_contact_with_a_reason(page: Page, user_with_role):
    manager = user_with_role(Role.SALES_MANAGER)
    contact = ContactFactory(first_name="Lena", last_name="Park", lifecycle_stage="sql")
    sign_in(page, manager.username, PASSWORD)
    page.goto(f"/contacts/{contact.pk}/")
    expect(page.get_by_test_id("stage-current")).to_have_text("SQL")

    page.get_by_test_id("stage-actions").click()
    page.get_by_label("Move to").select_option("opportunity")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_text("Say why you move this contact")).to_be_visible()  # no reason yet

    page.get_by_label("Move to").select_option("opportunity")
    page.get_by_label("Reason").fill("Demo booked for Friday")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_test_id("stage-current")).to_have_text("Opportunity")
    expect(page.get_by_test_id("stage-why")).to_contain_text("Demo booked for Friday")
    expect(page.get_by_test_id("timeline")).to_contain_text("SQL → Opportunity")
    change = StageChange.objects.get(contact=contact)
    assert (change.cause_kind, change.actor_id) == ("user", manager.pk)
