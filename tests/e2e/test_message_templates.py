"""A marketer writes message templates by clicking: a typo in a personalisation is refused
next to its field, the saved e-mail previews as the sample contact in a sandboxed frame, the
SMS editor counts segments while typing, and a test send shows up under Deliveries (held
there, as no worker runs in this test)."""

from playwright.sync_api import Page, expect

from automations.models import Delivery, MessageTemplate
from growth.roles import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

# The outbox pages, also before they are part of the project's URLs.

TEST_ADDRESS = "qa.tester@shop.example"
HTML = (
    "<h1>Hello {{ contact.first_name }}</h1><p>Your cart misses you.</p>"
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)


def test_marketer_writes_an_email_and_an_sms_and_finds_the_test_send_in_deliveries(
    page: Page, user_with_role
):
    user = user_with_role(Role.MARKETER)
    sign_in(page, user.username, PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Templates").click()
    expect(page.get_by_test_id("empty")).to_be_visible()

    # --- An e-mail, first with a typo in the personalisation ---------------------------------
    page.get_by_test_id("new-email").click()
    expect(page.get_by_role("heading", name="New e-mail template")).to_be_visible()
    page.get_by_label("Name:", exact=True).fill("Cart reminder")
    page.get_by_label("Subject:", exact=True).fill("{{ contct.first_name }}, your cart is waiting")
    page.get_by_label("HTML part:", exact=True).fill(HTML)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("error-subject")).to_contain_text("Unknown name “contct”")
    assert not MessageTemplate.objects.exists()
    # What was typed is still there; only the subject needs fixing.
    expect(page.get_by_label("HTML part:", exact=True)).to_have_value(HTML)
    page.get_by_label("Subject:", exact=True).fill("{{ contact.first_name }}, your cart is waiting")
    page.get_by_test_id("save").click()
    expect(page.get_by_text("Template “Cart reminder” saved.")).to_be_visible()
    expect(page.get_by_test_id("error-subject")).to_have_count(0)

    # The preview: the sample contact, Alex, in the sandboxed frame.
    preview = page.frame_locator('[data-testid="preview"]')
    expect(preview.get_by_role("heading", name="Hello Alex")).to_be_visible()
    expect(preview.locator("body")).to_contain_text("Alex, your cart is waiting")
    assert page.get_by_test_id("preview").get_attribute("sandbox") is not None
    email_url = page.url

    # --- An SMS, its segment counter following the typing ------------------------------------
    page.get_by_test_id("nav").get_by_role("link", name="Templates").click()
    page.get_by_test_id("new-sms").click()
    expect(page.get_by_role("heading", name="New SMS template")).to_be_visible()
    page.get_by_label("Name:", exact=True).fill("Cart SMS")
    text = page.get_by_test_id("sms-text")
    counter = page.get_by_test_id("sms-count")
    text.click()
    text.press_sequentially("Hi, your cart is waiting. ")
    expect(counter).to_contain_text("GSM-7: 26 characters, 1 segment")
    text.fill("Your cart is waiting at the shop. " * 4 + "Come back soon")  # 150 characters
    expect(counter).to_contain_text("150 characters, 1 segment")
    expect(counter).not_to_contain_text("segments")
    text.press_sequentially(" - see you there!")  # typed past 160
    expect(counter).to_contain_text("167 characters, 2 segments")
    page.get_by_test_id("save").click()
    expect(page.get_by_text("Template “Cart SMS” saved.")).to_be_visible()
    expect(page.get_by_test_id("sms-count")).to_contain_text("2 segments")
    assert MessageTemplate.objects.get(name="Cart SMS").channel == "sms"

    # --- A test of the e-mail, found under Deliveries ------------------------------------------
    page.goto(email_url)
    send = page.get_by_test_id("test-send")
    send.get_by_label("To e-mail").fill(TEST_ADDRESS)
    send.get_by_role("button", name="Send test").click()
    expect(page.get_by_text(f"Test queued for {TEST_ADDRESS}")).to_be_visible()

    page.goto("/deliveries/")
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    expect(page.get_by_test_id("outbox-note")).to_contain_text(
        "No provider configured: messages are kept here."
    )
    page.get_by_label("Address:", exact=True).fill("QA.Tester@")
    page.get_by_role("button", name="Filter").click()
    row = page.get_by_test_id("delivery-row").filter(has_text=TEST_ADDRESS)
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("status")).to_have_text("scheduled")
    expect(row).to_contain_text("[Test] Alex, your cart is waiting")
    expect(row).to_contain_text("no contact (a test)")
    expect(page.get_by_test_id("count-scheduled")).to_have_text("1")

    row.get_by_test_id("delivery-link").click()
    expect(page.get_by_test_id("delivery-to")).to_have_text(TEST_ADDRESS)
    expect(page.get_by_test_id("delivery-status")).to_contain_text("scheduled")
    expect(page.get_by_test_id("delivery-subject")).to_have_text(
        "[Test] Alex, your cart is waiting"
    )
    html = page.frame_locator('[data-testid="delivery-html"]')
    expect(html.get_by_role("heading", name="Hello Alex")).to_be_visible()

    # Not wanted after all: cancelled before any worker picks it up.
    page.get_by_test_id("cancel").click()
    expect(page.get_by_text("Cancelled: this message will not be sent.")).to_be_visible()
    expect(page.get_by_test_id("delivery-status")).to_contain_text("cancelled")
    delivery = Delivery.objects.get(origin="test")
    assert (delivery.status, delivery.to_address, delivery.contact_id) == (
        "cancelled",
        TEST_ADDRESS,
        None,
    )
