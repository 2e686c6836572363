"""The lead-quality loop: reps' verdicts (history, validation, merges), the report of
quality and conversion by source, campaign and persona, and each rule's lift with the
points it suggests, accepted by a marketer."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from growth.roles import Role
from leads.models import (
    Contact,
    LeadRating,
    ScoreEntry,
    ScoreModel,
    ScoreRecompute,
    ScoringRule,
    Segment,
    SegmentMembership,
    StageChange,
)
from leads.selectors_quality import quality_by, rule_lift
from leads.services.identity import contact_merge
from leads.services.quality import lead_rate
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)
# The window ends a day ahead: contacts made late in a long test session are still inside.
START, END = NOW - timedelta(days=90), NOW + timedelta(days=1)


def moved(contact: Contact, *stages: str, at: datetime) -> None:
    """The contact's stage history: each stage an hour after the previous one."""
    before = ""
    for n, stage in enumerate(stages):
        StageChange.objects.create(
            contact=contact,
            from_stage=before,
            to_stage=stage,
            at=at + timedelta(hours=n),
            cause_kind=StageChange.Cause.DEFINITION,
        )
        before = stage
    Contact.objects.filter(pk=contact.pk).update(lifecycle_stage=before)


# --- Verdicts ----------------------------------------------------------------------------------


def test_a_new_verdict_replaces_the_current_one_and_the_old_stays_as_history(user_with_role):
    rep = user_with_role(Role.SALES_MANAGER)
    lead = ContactFactory()
    first = lead_rate(contact=lead, actor=rep, verdict="good")
    second = lead_rate(contact=lead, actor=rep, verdict="bad", reason="no_budget", note="price")

    first.refresh_from_db()
    assert (first.current, first.reason) == (False, "")
    current = LeadRating.objects.get(contact=lead, current=True)
    assert (current.pk, current.verdict, current.reason, current.note, current.rated_by) == (
        second.pk,
        "bad",
        "no_budget",
        "price",
        rep,
    )


@pytest.mark.parametrize(
    ("verdict", "reason", "note", "field"),
    [
        ("bad", "", "", "reason"),
        ("bad", "because", "", "reason"),
        ("bad", "other", "", "note"),
        ("meh", "", "", "verdict"),
        ("good", "", "x" * 1001, "note"),
    ],
)
def test_a_wrong_verdict_is_refused_with_the_field_and_nothing_is_written(
    user_with_role, verdict, reason, note, field
):
    lead = ContactFactory()
    with pytest.raises(ValidationError) as refused:
        lead_rate(
            contact=lead,
            actor=user_with_role(Role.REP),
            verdict=verdict,
            reason=reason,
            note=note,
        )
    assert field in refused.value.message_dict
    assert not LeadRating.objects.exists()


def test_a_good_verdict_drops_a_reason_sent_with_it(user_with_role):
    rating = lead_rate(
        contact=ContactFactory(), actor=user_with_role(Role.REP), verdict="good", reason="spam"
    )
    assert rating.reason == ""


def test_a_merge_keeps_both_records_verdicts_and_the_newest_stays_current(user_with_role):
    rep = user_with_role(Role.REP)
    survivor, merged = ContactFactory(), ContactFactory()
    lead_rate(contact=merged, actor=rep, verdict="bad", reason="spam")
    old = lead_rate(contact=survivor, actor=rep, verdict="good")
    LeadRating.objects.filter(pk=old.pk).update(rated_at=NOW - timedelta(days=2))

    contact_merge(survivor=survivor, merged=merged, reason="same person")

    ratings = LeadRating.objects.filter(contact=survivor).order_by("-current")
    assert [(r.verdict, r.current) for r in ratings] == [("bad", True), ("good", False)]


def test_a_merged_contact_cannot_be_rated(user_with_role):
    survivor, merged = ContactFactory(), ContactFactory()
    contact_merge(survivor=survivor, merged=merged, reason="same person")
    with pytest.raises(ValidationError):
        lead_rate(contact=merged, actor=user_with_role(Role.REP), verdict="good")


# --- Rating from the contact page ------------------------------------------------------------


def test_a_sales_manager_rates_a_lead_on_its_page(client_as):
    lead = ContactFactory()
    client = client_as(Role.SALES_MANAGER)
    page = client.get(f"/contacts/{lead.pk}/")
    assert b'data-testid="quality-form"' in page.content

    answer = client.post(
        f"/contacts/{lead.pk}/quality/",
        {"verdict": "bad", "reason": "not_a_buyer", "note": "student"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    assert b'data-testid="quality-saved"' in answer.content
    assert "Not a buyer" in answer.content.decode()
    assert LeadRating.objects.get(contact=lead).note == "student"


def test_a_bad_verdict_without_reason_comes_back_with_the_error_next_to_the_field(client_as):
    lead = ContactFactory()
    answer = client_as(Role.SALES_MANAGER).post(
        f"/contacts/{lead.pk}/quality/", {"verdict": "bad"}, HTTP_HX_REQUEST="true"
    )
    assert b'data-testid="error-reason"' in answer.content
    assert not LeadRating.objects.exists()


@pytest.mark.parametrize("role", [Role.MARKETER, Role.REP, Role.MANAGER, Role.ADMIN])
def test_only_who_works_leads_and_sees_contacts_rates_them(client_as, role):
    lead = ContactFactory()
    client = client_as(role)
    answer = client.post(f"/contacts/{lead.pk}/quality/", {"verdict": "good"})
    # A rep rates its own leads only: another's is answered as if it did not exist.
    assert answer.status_code == (404 if role == Role.REP else 403)
    assert not LeadRating.objects.exists()
    if role != Role.REP:  # the others see the page, without the form
        assert b'data-testid="quality-form"' not in client.get(f"/contacts/{lead.pk}/").content


def test_rating_an_unknown_contact_is_a_404(client_as):
    answer = client_as(Role.SALES_MANAGER).post("/contacts/999999/quality/", {"verdict": "good"})
    assert answer.status_code == 404


# --- Quality and conversion by source, campaign and persona ----------------------------------


@pytest.fixture
def leads(user_with_role):  # type: ignore[no-untyped-def]
    """Leads of two sources and a campaign, rated and converted in known ways."""
    rep = user_with_role(Role.SALES_MANAGER)
    day = NOW - timedelta(days=10)
    google = {"source_channel": "google / cpc", "first_touch": {"utm_campaign": "spring"}}
    a = ContactFactory(**google)
    moved(a, "lead", "mql", "sql", "customer", at=day)
    lead_rate(contact=a, actor=rep, verdict="good")
    b = ContactFactory(**google)
    moved(b, "mql", "sql", at=day)
    lead_rate(contact=b, actor=rep, verdict="bad", reason="no_budget")
    c = ContactFactory(source_channel="google / cpc")
    moved(c, "mql", at=day)
    lead_rate(contact=c, actor=rep, verdict="bad", reason="no_budget")
    d = ContactFactory(source_channel="facebook / paid-social")
    moved(d, "sql", at=day)  # straight to SQL (added to cart)
    lead_rate(contact=d, actor=rep, verdict="bad", reason="spam")
    e = ContactFactory(source_channel="")
    moved(e, "mql", at=day)
    # Not in the period's cohort: qualified long ago (again now), or never.
    old = ContactFactory(source_channel="google / cpc")
    moved(old, "mql", at=NOW - timedelta(days=200))
    moved(old, "sql", at=day)
    moved(ContactFactory(source_channel="google / cpc"), "lead", at=day)
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def test_quality_by_source_counts_the_cohort_its_verdicts_and_conversions(leads):
    table = quality_by("source", start=START, end=END)
    got = {
        r.key: (r.leads, r.rated, r.good, r.bad, r.reached_sql, r.customers, r.top_bad_reason)
        for r in table.groups
    }
    assert got == {
        "google / cpc": (3, 3, 1, 2, 2, 1, "no_budget"),
        "facebook / paid-social": (1, 1, 0, 1, 1, 0, "spam"),
        "unknown": (1, 0, 0, 0, 0, 0, ""),
    }
    assert table.groups[0].key == "google / cpc"  # biggest first
    total = table.total
    assert (total.leads, total.rated, total.good, total.bad, total.reached_sql) == (5, 4, 1, 3, 3)
    assert total.customers == 1
    assert total.top_bad_reason == "no_budget"
    google = table.groups[0]
    assert google.good_share == pytest.approx(1 / 3)
    assert google.sql_rate == pytest.approx(2 / 3)


def test_quality_by_campaign_and_by_persona(leads):
    by_campaign = {r.key: r.leads for r in quality_by("campaign", start=START, end=END).groups}
    assert by_campaign == {"spring": 2, "(none)": 3}

    pro = Segment.objects.create(name="Pros", kind=Segment.Kind.PERSONA)
    fan = Segment.objects.create(name="Fans", kind=Segment.Kind.PERSONA)
    other = Segment.objects.create(name="Germans", kind=Segment.Kind.DYNAMIC)
    for segment, contact in [(pro, "a"), (fan, "a"), (pro, "b"), (other, "c")]:
        SegmentMembership.objects.create(segment=segment, contact=leads[contact], entered_at=NOW)
    SegmentMembership.objects.create(
        segment=fan, contact=leads["d"], entered_at=NOW, exited_at=NOW
    )  # left the persona: counts as none

    table = quality_by("persona", start=START, end=END)
    assert {r.key: r.leads for r in table.groups} == {"Pros": 2, "Fans": 1, "(none)": 3}
    assert table.total.leads == 5  # a lead in two personas is counted once in the total


def test_the_report_page_reads_in_a_fixed_number_of_queries(client_as, leads):
    client = client_as(Role.MARKETER)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/scoring/quality/").status_code == 200
    for n in range(6):
        more = ContactFactory(source_channel=f"referral: site{n}.example")
        moved(more, "mql", at=NOW - timedelta(days=3))
    with CaptureQueriesContext(connection) as many:
        answer = client.get("/scoring/quality/?by=campaign&days=30")
    assert answer.status_code == 200
    assert len(many) == len(few)
    assert b'data-testid="quality-row"' in answer.content


def test_the_report_is_for_who_edits_scoring(client_as):
    assert client_as(Role.REP).get("/scoring/quality/").status_code == 403
    empty = client_as(Role.SALES_MANAGER).get("/scoring/quality/")
    assert b'data-testid="quality-empty"' in empty.content


def test_wrong_filters_answer_400_and_show_the_defaults(client_as):
    answer = client_as(Role.MARKETER).get("/scoring/quality/?by=planet&days=7")
    assert answer.status_code == 400
    assert client_as(Role.MARKETER).get("/scoring/quality/?model=99999").status_code == 404


# --- Each rule's lift and the points it suggests ---------------------------------------------


@pytest.fixture
def lift_model():  # type: ignore[no-untyped-def]
    """40 contacts: "Demo booked" scored 20 of them before 10 reached SQL; 2 of the other
    20 reached SQL, one of them scored only afterwards. "Big company" scored 10 contacts,
    2 of which reached SQL. "Rare" scored 3 contacts only."""
    model = ScoreModel.objects.create(name="Lift test", half_life_days=30)
    rules = {
        name: ScoringRule.objects.create(
            model=model, name=name, kind="fit", points=points, ledger_stale=False
        )
        for name, points in [("Demo booked", 10), ("Big company", 20), ("Rare", 5)]
    }
    day = NOW - timedelta(days=20)
    people = [ContactFactory() for _ in range(40)]

    def award(rule: str, contact: Contact, at: datetime) -> None:
        ScoreEntry.objects.create(
            contact=contact,
            model=model,
            rule=rules[rule],
            kind="fit",
            points=rules[rule].points,
            occurred_at=at,
            created_at=at,
        )

    for n, person in enumerate(people):
        if n < 20:
            award("Demo booked", person, day)
            if n < 10:
                moved(person, "sql", at=day + timedelta(days=1))
        elif n < 22:
            moved(person, "sql", at=day + timedelta(days=1))
            if n == 20:
                award("Demo booked", person, day + timedelta(days=2))  # after SQL: no credit
        if 8 <= n < 18:
            award("Big company", person, day)
        if n >= 37:
            award("Rare", person, day)
    old = ContactFactory()  # created before the period: not in the population
    Contact.objects.filter(pk=old.pk).update(created_at=NOW - timedelta(days=400))
    award("Demo booked", old, day)
    moved(old, "sql", at=day + timedelta(days=1))
    return model, rules


def log_odds(a: int, n_with: int, c: int, n_without: int) -> float:
    return math.log(((a + 0.5) / (n_with - a + 0.5)) / ((c + 0.5) / (n_without - c + 0.5)))


def test_each_rule_shows_its_lift_and_suggests_points_on_the_model_s_scale(lift_model):
    model, _ = lift_model
    report = rule_lift(model, start=START, end=END)
    assert (report.contacts, report.reached_sql, report.customers) == (40, 12, 0)
    by_name = {lift.rule.name: lift for lift in report.rules}

    demo = by_name["Demo booked"].to_sql
    assert (demo.with_rule, demo.with_converted, demo.without_rule, demo.without_converted) == (
        20,
        10,
        20,
        2,
    )
    assert demo.lift == pytest.approx(5.0)
    big = by_name["Big company"].to_sql
    assert (big.with_rule, big.with_converted, big.without_rule, big.without_converted) == (
        10,
        2,
        30,
        10,
    )
    assert not by_name["Big company"].enough_data  # 10 contacts with the rule: too few
    assert not by_name["Rare"].enough_data
    assert by_name["Rare"].suggested_points is None

    # Only "Demo booked" has enough data, so the scale is its own points per log odds.
    x = log_odds(10, 20, 2, 20)
    assert report.scale == pytest.approx(10 / x)
    assert by_name["Demo booked"].suggested_points == 10  # already right on its own scale


def test_suggestions_rank_rules_by_what_they_predict(lift_model):
    model, rules = lift_model
    # Give "Big company" enough contacts: 20 more scored, none of which reached SQL.
    day = NOW - timedelta(days=20)
    for _ in range(20):
        person = ContactFactory()
        ScoreEntry.objects.create(
            contact=person,
            model=model,
            rule=rules["Big company"],
            kind="fit",
            points=20,
            occurred_at=day,
            created_at=day,
        )
    report = rule_lift(model, start=START, end=END)
    by_name = {lift.rule.name: lift for lift in report.rules}
    demo_x = log_odds(10, 20, 2, 40)
    big_x = log_odds(2, 30, 10, 30)
    scale = (10 + 20) / (abs(demo_x) + abs(big_x))  # the same average size as now
    assert report.scale == pytest.approx(scale)
    assert by_name["Demo booked"].suggested_points == round(scale * demo_x)
    assert by_name["Big company"].suggested_points == round(scale * big_x)
    assert by_name["Big company"].suggested_points < 0 < by_name["Demo booked"].suggested_points


def test_a_marketer_accepts_a_suggestion_and_a_recompute_follows(client_as, lift_model):
    model, rules = lift_model
    rule = rules["Demo booked"]
    client = client_as(Role.MARKETER)
    page = client.get(f"/scoring/quality/?model={model.pk}")
    assert page.status_code == 200
    assert b'data-testid="lift-row" data-rule="Demo booked"' in page.content

    answer = client.post(
        f"/scoring/quality/rules/{rule.pk}/accept/",
        {"points": 25, "version": rule.version, "next": f"/scoring/quality/?model={model.pk}"},
        follow=True,
    )
    rule.refresh_from_db()
    assert (rule.points, rule.version, rule.ledger_stale) == (25, 2, True)
    assert ScoreRecompute.objects.filter(kind=ScoreRecompute.Kind.RULES).exists()
    assert "now gives +25 points" in answer.content.decode()

    # A second accept from the same (now stale) page is refused, not applied silently.
    stale = client.post(
        f"/scoring/quality/rules/{rule.pk}/accept/",
        {"points": 30, "version": 1},
        follow=True,
    )
    rule.refresh_from_db()
    assert rule.points == 25
    assert "changed by someone else" in stale.content.decode()


def test_accepting_needs_the_scoring_capability_and_valid_points(client_as, lift_model):
    _, rules = lift_model
    rule = rules["Demo booked"]
    url = f"/scoring/quality/rules/{rule.pk}/accept/"
    assert client_as(Role.MANAGER).post(url, {"points": 5, "version": 1}).status_code == 403
    client_as(Role.MARKETER).post(url, {"points": 0, "version": 1})
    client_as(Role.MARKETER).post(url, {"points": "lots", "version": 1})
    rule.refresh_from_db()
    assert (rule.points, rule.version) == (10, 1)


def test_using_all_suggestions_at_once_keeps_the_scale_and_is_all_or_nothing(client_as, lift_model):
    model, rules = lift_model
    day = NOW - timedelta(days=20)
    for _ in range(20):  # "Big company" gets enough contacts, none of which reached SQL
        ScoreEntry.objects.create(
            contact=ContactFactory(),
            model=model,
            rule=rules["Big company"],
            kind="fit",
            points=20,
            occurred_at=day,
            created_at=day,
        )
    report = rule_lift(model, start=START, end=END)
    suggested = {lift.rule.name: lift.suggested_points for lift in report.suggestions}
    assert set(suggested) == {"Demo booked", "Big company"}
    client = client_as(Role.MARKETER)
    page = client.get(f"/scoring/quality/?model={model.pk}")
    assert b'data-testid="accept-all"' in page.content
    fields = [
        f"{lift.rule.pk}:{lift.rule.version}:{lift.suggested_points}" for lift in report.suggestions
    ]

    # One rule edited meanwhile: nothing is saved.
    ScoringRule.objects.filter(pk=rules["Big company"].pk).update(version=7)
    client.post("/scoring/quality/rules/accept/", {"rule": fields})
    assert {r.name: r.points for r in model.rules.all()} == {
        "Demo booked": 10,
        "Big company": 20,
        "Rare": 5,
    }

    ScoringRule.objects.filter(pk=rules["Big company"].pk).update(version=1)
    answer = client.post("/scoring/quality/rules/accept/", {"rule": fields}, follow=True)
    assert "2 rules now give their suggested points" in answer.content.decode()
    assert {r.name: r.points for r in model.rules.all()} == {**suggested, "Rare": 5}
    again = rule_lift(model, start=START, end=END)
    for lift in again.rules:
        if lift.suggested_points is not None:  # the same evidence now asks for the same points
            assert abs(lift.suggested_points - lift.rule.points) <= 1


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ([], "no suggestion"),
        (["1:1"], "garbled"),
        (["a:b:c"], "garbled"),
        (["1:1:5000"], "Points go from"),
        (["999999:1:5"], "deleted meanwhile"),
    ],
)
def test_garbled_suggestions_are_refused(client_as, lift_model, rule, says):
    client = client_as(Role.MARKETER)
    answer = client.post("/scoring/quality/rules/accept/", {"rule": rule}, follow=True)
    assert answer.status_code == 200
    assert 'class="message error"' in answer.content.decode()
    assert says in answer.content.decode()
    assert not ScoringRule.objects.filter(version__gt=1).exists()


def test_an_erased_lead_keeps_its_verdict_without_the_note_and_exports_list_them(
    user_with_role,
):
    from leads.services.privacy import contact_erase, contact_export_document

    lead = ContactFactory()
    lead_rate(
        contact=lead, actor=user_with_role(Role.REP), verdict="bad", reason="other", note="rude"
    )
    exported = contact_export_document(lead)["lead_ratings"]
    assert [(r["verdict"], r["reason"], r["note"]) for r in exported] == [("bad", "other", "rude")]

    contact_erase(contact=lead, origin="test")
    rating = LeadRating.objects.get(contact=lead)
    assert (rating.verdict, rating.reason, rating.note) == ("bad", "other", "")
