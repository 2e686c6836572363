"""A sales manager opens the team board, sees the plotly charts drawn (under the strict CSP:
the page fixture fails on any console error) and narrows the board to one rep."""

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from cadences.models import Touch
from growth.roles import Role
from tests.cadences.test_team_board import build
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


def test_sales_manager_reads_the_board_and_filters_it(page: Page, user_with_role):
    manager = user_with_role(Role.SALES_MANAGER)
    data = build()  # the hand-computed fixture: its leads qualified on 8 June 2025
    sign_in(page, manager.username, PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Team board")).to_be_visible()

    page.get_by_label("From:", exact=True).fill("2025-06-02")
    page.get_by_label("to:", exact=True).fill("2025-06-10")
    page.get_by_role("button", name="Show").click()
    speed = page.get_by_test_id("speed-chart")
    expect(speed.locator(".main-svg").first).to_be_visible()
    expect(speed.locator(".bars .point")).to_have_count(7)  # one bar per bucket
    expect(page.get_by_test_id("connect-chart").locator(".main-svg").first).to_be_visible()
    reps = page.get_by_test_id("reps")
    expect(reps.locator("tbody tr[data-rep]")).to_have_count(4)  # 3 reps and the pool
    expect(page.get_by_test_id("touches-total")).to_have_text("9")

    # The poll (every 30 s) swaps the board body in place: new numbers, charts drawn again.
    e2 = data.e[2]
    Touch.objects.create(
        enrollment=e2,
        contact_id=e2.contact_id,
        rep=data.reps["ann"],
        step=1,
        kind="call",
        disposition="connected",
        at=datetime(2025, 6, 9, 12, tzinfo=UTC),
        key="e2e-refresh",
    )
    page.evaluate(
        "htmx.ajax('GET', location.pathname + location.search, {target: '#board', swap: 'innerHTML'})"
    )
    expect(page.get_by_test_id("touches-total")).to_have_text("10")
    expect(speed.locator(".main-svg").first).to_be_visible()
    expect(page.locator("h1")).to_have_count(1)  # the body alone, not a page in the page

    page.get_by_label("Rep:", exact=True).select_option(label="Ann Archer (Berlin)")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"[?&]rep=\d+"))
    expect(reps.locator("tbody tr[data-rep]")).to_have_count(1)
    expect(reps.locator("tbody")).to_contain_text("Ann Archer")
    expect(speed.locator(".main-svg").first).to_be_visible()
    expect(page.get_by_test_id("bucket-untouched")).to_have_text("0")
    expect(page.get_by_label("Period:")).to_have_value("custom")

    # A preset chosen while the dates are still filled in: the preset it is.
    page.get_by_label("Period:").select_option(label="Last 7 days")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period=7"))
    expect(page.get_by_label("From:", exact=True)).to_have_value("")
    expect(page.get_by_test_id("period")).not_to_contain_text("2025-06-02")
