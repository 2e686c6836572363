"""A marketer adds a scoring rule by clicking: the what-if shows who it would move before
saving, the save recomputes every score with a progress bar, and the contact's score and its
explanation change."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from growth.roles import Role
from leads.models import ScoreRecompute
from leads.services.scoring import score_recompute_process, scoring_apply, scoring_defaults_ensure
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import ContactFactory, EventFactory


@pytest.fixture(autouse=True)
def _unhurried_recompute(monkeypatch):  # type: ignore[no-untyped-def]
    """A loaded CI machine must not turn "done" into "continued" (the runner's time budget)."""
    from leads.services import scoring as scoring_service

    monkeypatch.setattr(scoring_service, "TIME_BUDGET_SECONDS", 3600)


def test_marketer_adds_a_rule_previews_saves_recomputes_and_sees_the_score(
    page: Page, user_with_role
):
    scoring_defaults_ensure()  # transactional tests start from empty tables
    erin = ContactFactory(first_name="Erin", last_name="Shopper", country="", company="")
    now = datetime.now(UTC)
    checkouts = [
        EventFactory(contact=erin, name="Checkout Started", occurred_at=now - timedelta(minutes=m))
        for m in range(3)
    ]
    scoring_apply(contact_ids=[erin.pk], event_ids=[e.pk for e in checkouts])
    erin.refresh_from_db()
    assert erin.score == 45

    user = user_with_role(Role.MARKETER)
    sign_in(page, user.username, PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Scoring").click()
    expect(page.get_by_test_id("rules")).to_contain_text("Checkout started")
    page.get_by_role("link", name="New rule").click()

    page.get_by_label("Name:", exact=True).fill("Checkout bonus")
    page.get_by_label("Points:", exact=True).fill("10")
    page.get_by_label("Event:", exact=True).fill("Checkout Begun")
    expect(page.get_by_test_id("what-if-unseen")).to_be_visible()  # a typo is flagged
    page.get_by_label("Event:", exact=True).fill("Checkout Started")
    # The what-if, computed before anything is saved: Erin goes from 45 to 75, past 50.
    expect(page.get_by_test_id("what-if-changed")).to_have_text("1")
    expect(page.get_by_test_id("what-if-mql")).to_have_text("1")
    expect(page.get_by_test_id("what-if-examples")).to_contain_text("Erin Shopper")
    expect(page.get_by_test_id("what-if-examples")).to_contain_text("75")
    erin.refresh_from_db()
    assert erin.score == 45

    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("Scores are being recomputed.")).to_be_visible()
    expect(page.get_by_test_id("rule-name")).to_have_text("Checkout bonus")
    expect(page.get_by_test_id("recompute-status")).to_have_text("queued")

    # The worker's part, run here so the test does not race it; the open page polls.
    score_recompute_process(enqueue_rest=False)
    expect(page.get_by_test_id("recompute-percent")).to_have_text("100%")
    expect(page.get_by_test_id("recompute-status")).to_have_text("done")

    # A recompute by hand, from the button.
    page.get_by_test_id("recompute-start").click()
    expect(page.get_by_test_id("recompute-status")).to_have_text("queued")
    assert ScoreRecompute.objects.filter(status="queued", kind="manual").exists()
    score_recompute_process(enqueue_rest=False)
    expect(page.get_by_test_id("recompute-status")).to_have_text("done")

    page.goto(f"/contacts/{erin.pk}/")
    expect(page.locator(".page-head")).to_contain_text("score 75")
    panel = page.get_by_test_id("score-panel")
    expect(panel.get_by_test_id("score-by-rule")).to_contain_text("Checkout bonus")
    expect(panel).to_contain_text("At or above the MQL score of 50")
