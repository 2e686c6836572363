"""Two reps work the shared queue in two browsers at once: each sees one lead, never the
same one, records a disposition and gets the next lead without a page reload."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from cadences.models import Cadence, Touch
from cadences.services.enrollment import enrollment_start
from growth.roles import Role
from tests.cadences.helpers import mql, published
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


def test_two_reps_never_see_the_same_lead_and_work_through_the_queue(
    browser: Browser, live_server, user_with_role
):
    cadence = published("Shared", assignment=Cadence.Assignment.POOL)
    for n in range(4):
        enrollment_start(
            contact=mql(n, first_name=f"Lead{n}"), key=f"k{n}", cadence=cadence, assign=False
        )
    pages = []
    errors: list[str] = []  # a CSP violation or a broken script shows up here
    for name in ("ana", "ben"):
        user = user_with_role(Role.REP, username=name)
        context = browser.new_context(base_url=live_server.url)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        sign_in(page, user.username, PASSWORD)
        expect(page).not_to_have_url(re.compile(r"/login/"))  # signed in before the next one
        pages.append(page)
    for page in pages:
        page.goto("/queue/")
    shown = [page.get_by_test_id("queue-card").get_attribute("data-enrollment") for page in pages]
    assert None not in shown and shown[0] != shown[1]

    first = pages[0]
    first.get_by_test_id("disposition-voicemail").check()
    first.get_by_label("Notes", exact=True).last.fill("Left a message")
    url_before = first.url
    first.get_by_test_id("queue-record").click()
    expect(first.get_by_test_id("queue-notice")).to_contain_text("left voicemail")
    after = first.get_by_test_id("queue-card").get_attribute("data-enrollment")
    assert after not in shown and first.url == url_before  # the next lead, no reload
    assert Touch.objects.get().notes == "Left a message"
    for page in pages:
        page.context.close()
    assert not errors, errors
