"""A marketer builds a segment by clicking (country is DE and viewed a product at least
twice in the last 30 days), watches the live count, saves, sees the members; then new data
arrives through the tracking API and the segment grows."""

from datetime import UTC, datetime, timedelta

from django.test import Client
from playwright.sync_api import Page, expect

from growth.roles import Role
from leads.models import Contact, Segment
from leads.services.segments import segment_compute
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import ContactFactory, EventFactory, IdentityFactory
from tests.leads.helpers import post_segment, process_all


def viewed(contact: Contact, times: int, days_ago: int = 1) -> None:
    for n in range(times):
        EventFactory(
            contact=contact,
            name="Product Viewed",
            occurred_at=datetime.now(UTC) - timedelta(days=days_ago, minutes=n),
            properties={"product_id": f"p{n}"},
        )


def test_marketer_builds_a_segment_with_a_live_count_and_it_grows(
    page: Page, user_with_role, tracking_source
):
    marketer = user_with_role(Role.MARKETER)
    anna = ContactFactory(first_name="Anna", last_name="Berg", country="DE")
    jonas = ContactFactory(first_name="Jonas", last_name="Weber", country="DE")
    lena = ContactFactory(first_name="Lena", last_name="Kraus", country="DE")
    viewed(anna, 2)
    viewed(jonas, 3)
    viewed(lena, 1)  # once only, so far
    viewed(ContactFactory(first_name="Paul", country="FR"), 2)
    viewed(ContactFactory(first_name="Old", country="DE"), 2, days_ago=60)
    IdentityFactory(contact=lena, kind="user_id", value="lena-1")

    sign_in(page, marketer.username, PASSWORD)
    page.goto("/segments/")
    expect(page.get_by_test_id("empty")).to_contain_text("No segments of your own yet")
    page.get_by_test_id("new-segment").click()
    page.get_by_label("Name").fill("German browsers")

    # Condition 1: country is DE; the count updates as the value is typed.
    page.locator('[name="r_0.value"]').fill("DE")
    count = page.get_by_test_id("preview-count")
    expect(count).to_have_text("4")

    # Condition 2: an event, at least twice in the last 30 days.
    page.get_by_test_id("add-condition-r").click()
    page.locator('[name="r_1.kind"]').select_option("event")
    expect(page.locator('[name="r_1.name"]')).to_be_visible(
        timeout=15_000
    )  # an htmx swap; slow on a loaded CI machine
    page.locator('[name="r_1.name"]').fill("Product Viewed")
    page.locator('[name="r_1.count"]').fill("2")
    page.locator('[name="r_1.days"]').fill("30")
    expect(count).to_have_text("2")
    expect(page.get_by_test_id("preview-sample")).to_contain_text("Anna Berg")
    expect(page.get_by_test_id("preview-sample")).to_contain_text("Jonas Weber")

    # A wrong value is refused next to its field, nothing saved.
    page.locator('[name="r_1.count"]').fill("-1")
    expect(page.get_by_test_id("preview-problems")).to_contain_text("Condition 2, count")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("error-r_1.count")).to_contain_text("from 0 to")
    assert not Segment.objects.filter(name="German browsers").exists()
    page.locator('[name="r_1.count"]').fill("2")
    expect(count).to_have_text("2")
    page.get_by_test_id("save").click()
    expect(page.get_by_text("“German browsers” saved.")).to_be_visible()
    expect(page.get_by_test_id("status")).to_contain_text("Computing the members")

    # The worker computes the members; the page notices and shows them.
    segment = Segment.objects.get(name="German browsers")
    assert segment_compute(segment_id=segment.pk)
    members = page.get_by_test_id("members")
    expect(members).to_contain_text("Anna Berg")
    expect(members).to_contain_text("Jonas Weber")
    expect(page.get_by_test_id("member-row")).to_have_count(2)
    expect(page.get_by_test_id("rules")).to_contain_text("country is “DE”")

    # Lena views a second product: the shop's tracking call goes through the pipeline.
    _, key = tracking_source
    response = post_segment(
        Client(),
        key,
        "track",
        {"type": "track", "event": "Product Viewed", "userId": "lena-1", "messageId": "lena-2"},
    )
    assert response.status_code == 200
    process_all()
    page.reload()
    expect(page.get_by_test_id("member-row")).to_have_count(3)
    expect(page.get_by_test_id("history")).to_contain_text("Lena Kraus")
    page.goto("/segments/")
    expect(page.locator('[data-segment="German browsers"] [data-testid="members"]')).to_have_text(
        "3"
    )
