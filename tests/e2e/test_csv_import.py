"""A marketer imports a CSV of contacts by clicking: upload, check the guessed mapping and
the preview, start, and watch the progress reach done without reloading."""

from playwright.sync_api import Page, expect

from growth.roles import Role
from leads.csv_import.services import contact_import_process
from leads.models import Contact, ContactImport
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

# The import pages, whether or not leads/urls.py includes them yet.

CSV = (
    b"E-mail,First Name,Mobile,Favourite colour\n"
    b"ada@example.com,Ada,+44 20 7946 0000,teal\n"
    b"grace@example.com,Grace,,red\n"
    b"not-an-email,Bob,,blue\n"
)


def test_marketer_uploads_maps_starts_and_sees_it_done(page: Page, user_with_role):
    user = user_with_role(Role.MARKETER)
    sign_in(page, user.username, PASSWORD)

    page.goto("/contacts/imports/")
    expect(page.get_by_test_id("empty")).to_contain_text("No imports yet")
    page.get_by_role("link", name="Import a CSV").click()
    page.get_by_label("CSV file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}
    )
    page.get_by_role("button", name="Upload").click()

    # The mapping, guessed from the header names, and a preview of the rows as mapped.
    expect(page.get_by_role("heading", name="Map the columns of people.csv")).to_be_visible()
    expect(page.get_by_label("E-mail", exact=True)).to_have_value("email")
    expect(page.get_by_label("First Name")).to_have_value("first_name")
    expect(page.get_by_label("Mobile")).to_have_value("phone")
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("+442079460000")
    expect(preview).to_contain_text("not a valid e-mail address")
    expect(preview).to_contain_text("Favourite colour")

    # Changing a select updates the preview in place (htmx), nothing is saved yet.
    page.get_by_label("Favourite colour").select_option("ignore")
    expect(preview).not_to_contain_text("Favourite colour")
    page.get_by_label("Mobile").select_option("ignore")
    page.get_by_label("E-mail", exact=True).select_option("ignore")
    expect(page.get_by_test_id("mapping-problems")).to_contain_text(
        "No e-mail or phone column mapped"
    )
    page.get_by_label("E-mail", exact=True).select_option("email")
    page.get_by_label("Mobile").select_option("phone")
    expect(page.get_by_test_id("mapping-problems")).to_have_count(0)

    page.get_by_role("button", name="Start import").click()
    expect(page.get_by_text("Import started.")).to_be_visible()
    status = page.get_by_test_id("import-status")
    expect(status).to_contain_text("Waiting for a worker")
    expect(page.get_by_test_id("import-percent")).to_have_text("0%")

    # The worker's part, run here so the test does not race it; the open page polls.
    contact_import = ContactImport.objects.get()
    contact_import_process(import_id=contact_import.pk)

    expect(page.get_by_test_id("import-percent")).to_have_text("100%")
    expect(page.get_by_test_id("import-status-badge")).to_have_text("done")
    expect(page.locator("#import-progress")).to_have_attribute("value", "3")
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    expect(page.get_by_test_id("count-failed")).to_have_text("1")
    expect(page.get_by_test_id("import-errors")).to_contain_text("not-an-email")
    expect(page.get_by_role("link", name="Download all errors (CSV)")).to_be_visible()
    # Done: the fragment no longer polls.
    expect(status).not_to_have_attribute("hx-trigger", "every 1s")
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "ada@example.com",
        "grace@example.com",
    ]

    page.get_by_role("link", name="← All imports").click()
    expect(page.get_by_test_id("imports")).to_contain_text("people.csv")
    expect(page.get_by_test_id("imports")).to_contain_text("done")
