"""A rep opens the lead in front of it from the queue and reads its contact page (panels
loaded, its own actions only), finds it again under "My contacts", and gets "Page not
found" for another rep's lead typed into the address bar."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from cadences.models import Rep
from cadences.services.enrollment import enrollment_start
from growth.roles import Role
from tests.cadences.helpers import mql, published
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


def test_a_rep_opens_its_lead_from_the_queue_and_not_another_reps(
    page: Page, live_server, user_with_role
):
    cadence = published("Fast")
    me = user_with_role(Role.REP, username="rita")
    other = Rep.objects.create(user=user_with_role(Role.REP, username="otto"))
    lead = mql(1, first_name="Ada", last_name="Lovelace")
    theirs = mql(2, first_name="Zebedee", last_name="Theirs")
    enrollment_start(contact=lead, key="mine", cadence=cadence, rep=Rep.objects.create(user=me))
    enrollment_start(contact=theirs, key="theirs", cadence=cadence, rep=other)

    sign_in(page, "rita", PASSWORD)
    page.get_by_test_id("nav").locator("[data-section='queue']").click()
    page.get_by_test_id("queue-contact-link").click()
    expect(page).to_have_url(re.compile(rf"/contacts/{lead.pk}/$"))
    expect(page.get_by_test_id("contact-name")).to_have_text("Ada Lovelace")
    expect(page.get_by_test_id("sales-panel")).to_contain_text("Fast")  # loaded with htmx
    expect(page.get_by_test_id("quality-form")).to_be_visible()
    expect(page.get_by_test_id("data-actions")).to_have_count(0)

    page.get_by_role("link", name="← My contacts").click()
    expect(page.get_by_role("heading", name="My contacts")).to_be_visible()
    expect(page.get_by_test_id("my-contacts")).to_contain_text("Ada Lovelace")
    expect(page.get_by_test_id("my-contacts")).not_to_contain_text("Zebedee")

    response = page.goto(f"/contacts/{theirs.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Zebedee")
