"""The lead-quality loop in the browser: a sales manager marks a lead bad with a reason on its
page; a marketer reads the verdict by source in the lead-quality report and gives a scoring
rule the points its observed lift suggests."""

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from growth.roles import Role
from leads.models import Contact, LeadRating, ScoreEntry, ScoreModel, ScoringRule, StageChange
from leads.services.scoring import scoring_defaults_ensure
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import ContactFactory


def qualified(contact: Contact, stage: str, at: datetime) -> None:
    StageChange.objects.create(
        contact=contact, from_stage="lead", to_stage=stage, at=at, cause_kind="rule"
    )
    Contact.objects.filter(pk=contact.pk).update(lifecycle_stage=stage)


def test_a_rep_s_verdict_reaches_the_marketer_who_tunes_a_rule(page: Page, user_with_role):
    now = datetime.now(UTC)
    day = now - timedelta(days=5)
    scoring_defaults_ensure()  # transactional tests may start from empty tables
    model = ScoreModel.objects.get(is_primary=True)
    model.rules.update(active=False)  # only this test's two rules are in the report
    demo = ScoringRule.objects.create(
        model=model, name="Asked for a demo", kind="fit", points=5, ledger_stale=False
    )
    newsletter = ScoringRule.objects.create(
        model=model, name="Newsletter reader", kind="fit", points=10, ledger_stale=False
    )
    # 40 new contacts: 20 asked for a demo and 10 of them reached SQL; the other 20 read the
    # newsletter and 2 of them did. The points run the wrong way round.
    people = ContactFactory.create_batch(40, source_channel="google / cpc")
    for n, person in enumerate(people):
        rule = demo if n < 20 else newsletter
        ScoreEntry.objects.create(
            contact=person,
            model=model,
            rule=rule,
            kind="fit",
            points=rule.points,
            occurred_at=day,
            created_at=day,
        )
        if n < 10 or n in (20, 21):
            qualified(person, "sql", day + timedelta(hours=1))
    lead = ContactFactory(first_name="Sam", last_name="Student", source_channel="newsletter")
    qualified(lead, "mql", day)

    manager = user_with_role(Role.SALES_MANAGER)
    sign_in(page, manager.username, PASSWORD)
    page.goto(f"/contacts/{lead.pk}/")
    panel = page.get_by_test_id("quality-panel")
    expect(panel.get_by_test_id("quality-why")).to_contain_text("No verdict yet")
    panel.get_by_test_id("verdict-bad").check()
    panel.get_by_role("button", name="Save verdict").click()
    expect(panel.get_by_test_id("error-reason")).to_contain_text("Say why")  # next to the field
    panel.get_by_label("Why bad?").select_option("not_a_buyer")
    panel.get_by_label("Note").fill("school project")
    panel.get_by_role("button", name="Save verdict").click()
    expect(panel.get_by_test_id("quality-saved")).to_be_visible()
    expect(panel.get_by_test_id("quality-current")).to_have_text("Bad lead")
    expect(panel.get_by_test_id("quality-why")).to_contain_text("school project")
    assert LeadRating.objects.get(contact=lead).reason == "not_a_buyer"

    page.context.clear_cookies()
    marketer = user_with_role(Role.MARKETER)
    sign_in(page, marketer.username, PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Lead quality").click()
    row = page.locator('[data-testid="quality-row"][data-key="newsletter"]')
    expect(row).to_contain_text("Not a buyer")
    expect(page.locator('[data-testid="quality-row"][data-key="google / cpc"]')).to_contain_text(
        "12"
    )

    lift = page.locator('[data-testid="lift-row"][data-rule="Asked for a demo"]')
    # 10 of 20 against 2 of the other 21 new contacts (Sam is one of them): 5.25 times.
    expect(lift.get_by_test_id("lift")).to_have_text("\u00d75.2")
    accept = lift.get_by_role("button", name="Use")
    suggested = int(accept.inner_text().removeprefix("Use ").replace("+", ""))
    assert suggested != 5
    accept.click()
    expect(page.get_by_text(f"“Asked for a demo” now gives {suggested:+d} points")).to_be_visible()
    demo.refresh_from_db()
    assert demo.points == suggested
    expect(lift.get_by_test_id("points")).to_have_text(f"{suggested:+d}")
