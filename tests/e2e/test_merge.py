"""An admin merges two records of one person by hand, after a side-by-side preview."""

from playwright.sync_api import Page, expect

from growth.roles import Role
from leads.models import Contact
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import ContactFactory, EventFactory


def test_admin_merges_duplicates(page: Page, user_with_role):
    admin = user_with_role(Role.ADMIN)
    keep = ContactFactory(first_name="Mia", last_name="Wong", email="mia@example.com", phone="")
    dupe = ContactFactory(
        first_name="Mia", last_name="W", email="mia.w@example.com", phone="+15550100"
    )
    EventFactory(contact=dupe, name="Checkout Started")
    sign_in(page, admin.username, PASSWORD)
    page.goto(f"/contacts/{keep.pk}/")
    page.get_by_role("link", name="Merge with…").click()
    page.get_by_label("Other contact (e-mail, phone or #id)").fill("mia.w@example.com")
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_test_id("merge-preview")
    expect(preview).to_contain_text("+15550100")
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_text(f"Contact #{dupe.pk} was merged into this one.")).to_be_visible()
    keep.refresh_from_db()
    assert keep.phone == "+15550100"
    assert Contact.objects.get(pk=dupe.pk).merged_into_id == keep.pk
    assert keep.events.filter(name="Checkout Started").exists()
