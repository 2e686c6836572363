"""Lead scoring: the ledger, limits, decay, fit, incremental and full recompute, merges,
editing rules (conflicts, invalid input), the what-if and the explanation."""

from __future__ import annotations

import importlib
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from growth.roles import Role
from leads.models import (
    Contact,
    ContactScore,
    Event,
    ScoreEntry,
    ScoreModel,
    ScoreRecompute,
    ScoringRule,
)
from leads.selectors_scoring import contact_score_explanation, scoring_rule_what_if
from leads.services import scoring
from leads.services.identity import contact_merge
from leads.services.scoring import (
    EditConflict,
    decay,
    score_model_save,
    score_recompute_process,
    score_recompute_request,
    scoring_apply,
    scoring_rule_create,
    scoring_rule_update,
)
from tests.leads.factories import ContactFactory, EventFactory
from tests.leads.helpers import post_segment, process_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _unhurried_recompute(monkeypatch):  # type: ignore[no-untyped-def]
    """A loaded CI machine must not turn "done" into "continued" (the runner's time budget)."""
    from leads.services import scoring as scoring_service

    monkeypatch.setattr(scoring_service, "TIME_BUDGET_SECONDS", 3600)


NOW = datetime(2025, 3, 5, 12, tzinfo=UTC)  # a Wednesday


def person(**fields: object) -> Contact:
    """A contact no fit rule matches (no target country, no company, a plain domain)."""
    return ContactFactory(**{"country": "", "company": "", **fields})


def event(contact: Contact, name: str, at: datetime = NOW, **properties: object) -> Event:
    return EventFactory(contact=contact, name=name, occurred_at=at, properties=properties)


def score_now(contact: Contact, *events: Event, at: datetime = NOW) -> int:
    scoring_apply(contact_ids=[contact.pk], event_ids=[e.pk for e in events], at=at)
    contact.refresh_from_db()
    return contact.score


def rule(name: str) -> ScoringRule:
    return ScoringRule.objects.get(model__is_primary=True, name=name)


def entries(contact: Contact, name: str | None = None) -> int:
    rows = ScoreEntry.objects.filter(contact=contact)
    return rows.filter(rule__name=name).count() if name else rows.count()


def half_up(value: float) -> int:
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def recompute_all(at: datetime = NOW) -> None:
    with time_machine.travel(at, tick=False):
        score_recompute_request()
        # A generous time budget: a loaded CI machine must not turn "done" into "continued".
        outcome = score_recompute_process(enqueue_rest=False, time_budget=3600)
    assert outcome.status == "done", outcome


# --- Defaults ----------------------------------------------------------------------------


def test_the_shop_model_ships_with_the_playbook_rules():
    model = ScoreModel.objects.get()
    assert (model.name, model.is_primary, model.half_life_days) == ("Shop", True, 30)
    names = set(model.rules.values_list("name", flat=True))
    assert {"Product viewed", "Unsubscribed", "Competitor e-mail domain", "Target country"} <= names
    assert not model.rules.filter(ledger_stale=True).exists()  # nothing to rebuild on a fresh DB


def test_the_migration_s_frozen_defaults_match_the_code():
    migration = importlib.import_module("leads.migrations.0008_scoring")
    assert migration.DEFAULT_RULES == scoring.DEFAULT_RULES
    assert migration.DEFAULT_MODEL == scoring.DEFAULT_MODEL


def test_an_emptied_database_gets_the_defaults_on_first_use():
    ScoreModel.objects.all().delete()
    contact = person()
    score_now(contact)  # no events yet: nothing to rebuild
    assert score_now(contact, event(contact, "Checkout Started")) == 15
    assert ScoreModel.objects.get().is_primary


def test_defaults_installed_over_existing_events_are_built_by_a_recompute():
    ScoreModel.objects.all().delete()
    contact = person()
    checkout = event(contact, "Checkout Started")
    score_now(contact)  # first use: the rules arrive stale, the events wait for the rebuild
    assert ScoringRule.objects.filter(ledger_stale=True).count() == len(scoring.DEFAULT_RULES)
    assert ScoreRecompute.objects.get().status == "queued"
    recompute_all(NOW)
    contact.refresh_from_db()
    assert contact.score == 15 and ScoreEntry.objects.get().event_id == checkout.pk


# --- Exact points ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "properties", "points"),
    [
        ("Product Viewed", {}, 2),
        ("Product Added", {}, 10),
        ("Checkout Started", {}, 15),
        ("Content Downloaded", {}, 10),
        ("Newsletter Subscribed", {}, 5),
        ("Page Viewed", {"url": "https://shop.example/"}, 1),
        ("Support Contacted", {}, 5),
        ("Unsubscribed", {}, -20),
        ("Email Bounced", {"type": "hard"}, -30),
        ("Email Bounced", {"type": "soft"}, 0),
        ("Page Viewed", {"url": "https://shop.example/careers/jobs"}, 1 - 15),
        ("Order Refunded", {}, 0),
    ],
)
def test_each_default_rule_awards_exactly_its_points(name, properties, points):
    contact = person()
    assert score_now(contact, event(contact, name, **properties)) == points
    stored = ContactScore.objects.get(contact=contact, model__is_primary=True)
    assert stored.total == pytest.approx(points)
    assert stored.fit == 0


def test_reprocessing_a_batch_never_counts_twice():
    contact = person()
    events = [event(contact, "Product Added"), event(contact, "Checkout Started")]
    assert score_now(contact, *events) == 25
    assert score_now(contact, *events) == 25
    assert entries(contact) == 2


# --- Limits --------------------------------------------------------------------------------


def test_product_views_count_at_most_ten_points_a_week():
    contact = person()
    week = [event(contact, "Product Viewed", NOW - timedelta(hours=h)) for h in range(7)]
    assert score_now(contact, *week) == 10
    assert entries(contact, "Product viewed") == 5
    # The earliest five are the ones kept.
    kept = set(ScoreEntry.objects.filter(contact=contact).values_list("event_id", flat=True))
    assert kept == {e.pk for e in sorted(week, key=lambda e: e.occurred_at)[:5]}
    # Next Monday is another week (UTC calendar weeks).
    next_week = datetime(2025, 3, 10, 0, 5, tzinfo=UTC)
    more = [event(contact, "Product Viewed", next_week) for _ in range(2)]
    assert score_now(contact, *more, at=next_week) == half_up(
        sum(decay(2, (next_week - e.occurred_at).total_seconds(), 30) for e in week[:5]) + 4
    )


def test_the_limit_holds_across_batches():
    contact = person()
    first = [event(contact, "Page Viewed", NOW - timedelta(minutes=m)) for m in range(3)]
    score_now(contact, *first)
    second = [event(contact, "Page Viewed", NOW + timedelta(minutes=m)) for m in range(4)]
    score_now(contact, *second)
    assert entries(contact, "Page viewed") == 5  # at most 5 points a day
    tomorrow = NOW + timedelta(days=1)
    score_now(contact, event(contact, "Page Viewed", tomorrow), at=tomorrow)
    assert entries(contact, "Page viewed") == 6


# --- Decay ---------------------------------------------------------------------------------


def test_behaviour_points_halve_with_the_half_life_and_fit_points_stay():
    contact = person(company="Acme")  # fit +3
    with time_machine.travel(NOW, tick=False):
        assert score_now(contact, event(contact, "Product Added")) == 13
    for days, expected in [(30, 5 + 3), (60, 3 + 3), (90, 1 + 3), (3650, 3)]:
        recompute_all(NOW + timedelta(days=days))  # the nightly recompute
        contact.refresh_from_db()
        assert contact.score == expected, days
    stored = ContactScore.objects.get(contact=contact)
    assert stored.fit == 3
    assert stored.behaviour == pytest.approx(10 * 0.5 ** (3650 / 30))


def test_decay_uses_the_model_s_half_life():
    model = ScoreModel.objects.get(is_primary=True)
    score_model_save(model=model, version=model.version, half_life_days=10)
    contact = person()
    score_now(contact, event(contact, "Checkout Started", NOW - timedelta(days=10)))
    contact.refresh_from_db()
    assert contact.score == half_up(15 * 0.5)


def test_decay_arithmetic_matches_python():
    assert decay(8, 86400 * 30, 30) == pytest.approx(4)
    assert decay(8, -5, 30) == 8  # events from the future count as now
    assert decay(8, 86400 * 1e9, 1) == pytest.approx(0)  # no underflow error


# --- Fit -----------------------------------------------------------------------------------


def test_fit_rules_follow_the_profile():
    contact = person(email="ann@shop.example")
    assert score_now(contact) == 0
    contact.country, contact.company = "us", "Acme"  # case does not matter
    contact.save()
    assert score_now(contact) == 8
    contact.email = "ann@Competitor.com"
    contact.save()
    assert score_now(contact) == 8 - 50
    contact.company = ""
    contact.save()
    assert score_now(contact) == 5 - 50
    assert set(ScoreEntry.objects.filter(contact=contact).values_list("rule__name", flat=True)) == {
        "Target country",
        "Competitor e-mail domain",
    }


def test_changing_a_fit_rule_s_points_rewrites_its_entries():
    contact = person(country="DE")
    assert score_now(contact) == 5
    target = rule("Target country")
    scoring_rule_update(rule=target, version=target.version, points=7)
    recompute_all()
    contact.refresh_from_db()
    assert contact.score == 7


# --- Incremental through the real pipeline -------------------------------------------------


def test_events_through_the_ingest_pipeline_are_scored(client, tracking_source):
    _, key = tracking_source
    for name in ["Product Viewed", "Product Added", "Checkout Started"]:
        post_segment(client, key, "track", {"type": "track", "event": name, "userId": "u-7"})
    post_segment(
        client,
        key,
        "page",
        {"type": "page", "userId": "u-7", "properties": {"url": "https://shop.example/careers"}},
    )
    process_all()
    contact = Contact.objects.get()
    assert contact.score == 2 + 10 + 15 + 1 - 15
    assert set(ScoreEntry.objects.values_list("rule__name", flat=True)) == {
        "Product viewed",
        "Product added to cart",
        "Checkout started",
        "Page viewed",
        "Careers page viewed",
    }


# --- Full recompute --------------------------------------------------------------------------


def _random_shop(seed: int, contacts: int = 12, events: int = 160) -> list[Contact]:
    rng = random.Random(seed)
    people = [
        person(
            country=rng.choice(["", "US", "FR", "BR"]),
            company=rng.choice(["", "Acme"]),
            email=f"p{seed}-{n}@{rng.choice(['shop.example', 'competitor.com'])}",
        )
        for n in range(contacts)
    ]
    names = ["Product Viewed", "Page Viewed", "Product Added", "Unsubscribed", "Email Bounced"]
    for _ in range(events):
        at = NOW - timedelta(minutes=rng.randrange(60 * 24 * 40))
        event(
            rng.choice(people),
            rng.choice(names),
            at,
            url=rng.choice(["/", "/careers", "/p/1"]),
            type=rng.choice(["hard", "soft"]),
        )
    return people


def _snapshot() -> tuple[set, dict, dict]:
    ledger = set(ScoreEntry.objects.values_list("rule_id", "event_id", "contact_id", "points"))
    totals = {
        (s.contact_id, s.model_id): (round(s.behaviour, 9), s.fit)
        for s in ContactScore.objects.all()
        if s.total or s.behaviour or s.fit
    }
    scores = dict(Contact.objects.values_list("pk", "score"))
    return ledger, totals, scores


def test_a_full_recompute_equals_the_incremental_scores():
    people = _random_shop(1)
    # Incremental, in arrival order, one small batch after another.
    ids = list(Event.objects.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), 25):
        batch = ids[start : start + 25]
        scoring_apply(
            contact_ids=[p.pk for p in people] if start == 0 else [], event_ids=batch, at=NOW
        )
    scoring_apply(contact_ids=[p.pk for p in people], event_ids=[], at=NOW)
    incremental = _snapshot()
    assert incremental[0] and any(incremental[2].values())

    ScoringRule.objects.update(ledger_stale=True)  # rebuild every rule's ledger from scratch
    ContactScore.objects.all().delete()
    Contact.objects.update(score=0)
    recompute_all(NOW)
    assert _snapshot() == incremental
    assert not ScoringRule.objects.filter(ledger_stale=True).exists()


def test_a_killed_recompute_resumes_without_counting_twice(monkeypatch):
    monkeypatch.setattr(scoring, "EVENT_STEP", 20)
    monkeypatch.setattr(scoring, "CONTACT_STEP", 3)
    people = _random_shop(2, contacts=10, events=120)
    ScoringRule.objects.update(ledger_stale=True)
    recompute_all(NOW)
    clean = _snapshot()

    ScoringRule.objects.update(ledger_stale=True)
    ContactScore.objects.all().delete()
    Contact.objects.update(score=0)
    with time_machine.travel(NOW, tick=False):
        score_recompute_request()
        assert score_recompute_process(max_steps=4).status == "stopped"  # mid-ledger
        running = ScoreRecompute.objects.get(status="running")
        assert running.phase == "ledger" and running.last_event_id > 0
        assert 0 < running.done < running.total  # (percent may round to 0 on sparse ids)

        # The worker dies in the middle of a totals range: that range's transaction is lost.
        calls = {"n": 0}
        real = scoring._apply_totals

        def dying(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                real(*args, **kwargs)  # the writes happen, then the process is killed
                raise SystemExit("worker killed")
            return real(*args, **kwargs)

        monkeypatch.setattr(scoring, "_apply_totals", dying)
        with pytest.raises(SystemExit):
            score_recompute_process(time_budget=3600)
        stuck = ScoreRecompute.objects.get(status="running")
        assert stuck.phase == "apply"
        first = min(p.pk for p in people)
        # The first range committed, the second did not.
        assert stuck.last_contact_id == first - 1 + 3
        monkeypatch.setattr(scoring, "_apply_totals", real)
        assert score_recompute_process(time_budget=3600).status == "done"
    assert _snapshot() == clean
    assert {p.pk for p in people} <= set(clean[2])


def test_a_recompute_after_a_rule_change_rebuilds_only_that_rule_and_qualifies(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "leads.services.qualification.qualification_evaluate_all", lambda **kw: calls.append(1)
    )
    contact = person()
    views = [event(contact, "Product Viewed", NOW - timedelta(hours=h)) for h in range(3)]
    added = event(contact, "Product Added")
    assert score_now(contact, *views, added) == 16
    added_entry = ScoreEntry.objects.get(event=added)
    viewed = rule("Product viewed")
    scoring_rule_update(rule=viewed, version=viewed.version, points=4, limit_points=8)
    assert ScoreRecompute.objects.filter(status="queued", kind="rules").exists()
    recompute_all(NOW)
    contact.refresh_from_db()
    assert contact.score == 8 + 10  # two awards of 4 fit under the new limit of 8
    assert ScoreEntry.objects.filter(pk=added_entry.pk).exists()  # other rules untouched
    assert calls == [1]


def test_an_event_committed_late_during_a_rebuild_is_scored_once(monkeypatch):
    monkeypatch.setattr(scoring, "EVENT_STEP", 1)
    contact = person()
    added = rule("Product added to cart")
    scoring_rule_update(rule=added, version=added.version, points=12)
    late = event(contact, "Product Added", NOW - timedelta(hours=2))
    event(contact, "Product Added", NOW - timedelta(hours=1))
    with time_machine.travel(NOW, tick=False):
        assert score_recompute_process(max_steps=2).status == "stopped"
        running = ScoreRecompute.objects.get(status="running")
        assert running.phase == "ledger" and running.last_event_id == late.pk
        # As if `late` had not committed yet when its range was rebuilt: it commits now,
        # behind the rebuild, and its batch scores it.
        ScoreEntry.objects.filter(event=late).delete()
        scoring_apply(contact_ids=[contact.pk], event_ids=[late.pk], at=NOW)
        assert ScoreEntry.objects.filter(event=late, points=12).count() == 1
        assert score_recompute_process().status == "done"
    assert ScoreEntry.objects.filter(event=late).count() == 1
    contact.refresh_from_db()
    assert contact.score == 12 * 2


def test_the_nightly_recompute_rewrites_only_scores_that_move():
    steady, moving = person(company="Acme"), person()
    with time_machine.travel(NOW, tick=False):
        score_now(steady)  # fit only: never decays
        score_now(moving, event(moving, "Checkout Started"))
    stored = {s.contact_id: s.computed_at for s in ContactScore.objects.all()}
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        score_recompute_request(kind=ScoreRecompute.Kind.NIGHTLY)
        assert score_recompute_process(enqueue_rest=False).status == "done"
    steady.refresh_from_db()
    moving.refresh_from_db()
    assert (steady.score, moving.score) == (3, 8)  # 15 halved, rounded half up
    after = {s.contact_id: s for s in ContactScore.objects.all()}
    assert after[steady.pk].computed_at == stored[steady.pk]  # untouched: still exact
    assert after[moving.pk].computed_at == NOW + timedelta(days=30)
    assert after[moving.pk].behaviour == pytest.approx(7.5)


def test_a_rule_on_a_missing_property_or_event_scores_nothing_and_does_not_crash():
    model = ScoreModel.objects.get(is_primary=True)
    scoring_rule_create(
        model=model,
        name="Big spender",
        kind="behaviour",
        event_name="Never Sent",
        points=5,
        conditions=[{"property": "cart.total.amount", "operator": "gt", "value": "100"}],
    )
    contact = person()
    event(contact, "Never Sent", total="lots")
    recompute_all(NOW)
    assert not ScoreEntry.objects.filter(rule__name="Big spender").exists()


# --- Merge ---------------------------------------------------------------------------------


def test_a_merge_keeps_the_ledger_consistent():
    a = person(country="US", email="a@shop.example")
    b = person(country="US", company="Acme", email="b@shop.example")
    for contact in (a, b):
        views = [event(contact, "Page Viewed", NOW - timedelta(minutes=m)) for m in range(4)]
        score_now(contact, *views, event(contact, "Product Added"))
    assert entries(a, "Page viewed") == entries(b, "Page viewed") == 4

    with time_machine.travel(NOW, tick=False):
        contact_merge(survivor=a, merged=b, reason="test")
    a.refresh_from_db()
    b.refresh_from_db()
    assert entries(b) == 0 and b.score == 0
    assert not ContactScore.objects.filter(contact=b).exists()
    assert entries(a, "Page viewed") == 5  # the day's limit holds for the merged record
    assert entries(a, "Target country") == 1  # fit once, not twice
    assert entries(a, "Has a company") == 1  # the survivor took the company
    merged_score = a.score
    assert merged_score == 5 + 10 + 10 + 5 + 3

    ScoringRule.objects.update(ledger_stale=True)
    recompute_all(NOW)
    a.refresh_from_db()
    assert a.score == merged_score


# --- Editing rules ---------------------------------------------------------------------------


def test_the_second_of_two_concurrent_edits_gets_a_conflict():
    viewed = rule("Product viewed")
    opened = viewed.version
    scoring_rule_update(rule=viewed, version=opened, points=3, limit_points=9)
    with pytest.raises(EditConflict) as conflict:
        scoring_rule_update(rule=viewed, version=opened, points=1)
    assert conflict.value.current.points == 3
    assert rule("Product viewed").points == 3


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"points": 0}, "points", "0 does nothing"),
        ({"points": 5000}, "points", "At most"),
        ({"event_name": ""}, "event_name", "needs the event"),
        ({"limit_points": 10}, "limit_period", "both"),
        ({"limit_points": 1, "limit_period": "week"}, "limit_points", "never award"),
        ({"limit_points": 10, "limit_period": "year"}, "limit_period", "day, a week or a month"),
        ({"name": "Product added to cart"}, "name", "already has a rule"),
        ({"conditions": [{"property": "url", "operator": "like", "value": "x"}]}, "conditions", "Condition 1, operator"),
        ({"conditions": [{"property": "price", "operator": "gt", "value": "cheap"}]}, "conditions", "Condition 1, value"),
        ({"conditions": [{"property": "a..b", "operator": "eq", "value": "x"}]}, "conditions", "Condition 1, property"),
        ({"conditions": [{"property": "url", "operator": "in", "value": ""}]}, "conditions", "at least one value"),
        ({"conditions": "url=x"}, "conditions", "must be a list"),
    ],
)  # fmt: skip
def test_invalid_rules_are_refused_naming_the_field(fields, field, fragment):
    model = ScoreModel.objects.get(is_primary=True)
    data = {"name": "New", "kind": "behaviour", "event_name": "Product Viewed", "points": 2}
    with pytest.raises(ValidationError) as error:
        scoring_rule_create(model=model, **{**data, **fields})
    assert field in error.value.message_dict
    assert fragment in " ".join(error.value.message_dict[field])
    assert not ScoringRule.objects.filter(name="New").exists()


def test_fit_rules_refuse_unknown_contact_fields_and_event_names():
    model = ScoreModel.objects.get(is_primary=True)
    with pytest.raises(ValidationError) as error:
        scoring_rule_create(
            model=model,
            name="Fit",
            kind="fit",
            points=3,
            event_name="Page Viewed",
            conditions=[{"property": "shoe_size", "operator": "exists", "value": None}],
        )
    assert set(error.value.message_dict) == {"event_name", "conditions"}
    assert "not a contact field" in error.value.message_dict["conditions"][0]


def test_the_primary_model_is_always_exactly_one():
    shop = ScoreModel.objects.get(is_primary=True)
    other = score_model_save(name="Wholesale", half_life_days=60)
    assert not other.is_primary
    with pytest.raises(ValidationError) as error:
        score_model_save(model=shop, version=shop.version, is_primary=False)
    assert "is_primary" in error.value.message_dict
    score_model_save(model=other, version=other.version, is_primary=True)
    assert list(ScoreModel.objects.filter(is_primary=True)) == [other]
    with pytest.raises(ValidationError) as error:
        score_model_save(model=other, version=other.version + 1, active=False)
    assert "active" in error.value.message_dict


# --- What-if and explanation ---------------------------------------------------------------


def test_the_what_if_counts_changes_and_mql_crossings_without_writing():
    near = person(first_name="Near", last_name="Threshold")
    far = person(first_name="Far", last_name="Below")
    score_now(near, *[event(near, "Checkout Started") for _ in range(3)])  # 45
    score_now(far, event(far, "Product Viewed"))  # 2
    before = (ScoreEntry.objects.count(), dict(Contact.objects.values_list("pk", "score")))

    model = ScoreModel.objects.get(is_primary=True)
    candidate = ScoringRule(
        model=model, name="Checkout x2", kind="behaviour", event_name="Checkout Started", points=30
    )
    scoring.scoring_rule_clean(candidate)
    with time_machine.travel(NOW, tick=False):
        what_if = scoring_rule_what_if(rule=candidate, original=None)
    assert (what_if.changed, what_if.up, what_if.cross_up, what_if.cross_down) == (1, 1, 1, 0)
    assert [(e.name, e.before, e.after) for e in what_if.examples] == [("Near Threshold", 45, 135)]

    checkout = rule("Checkout started")
    checkout.points = 1
    with time_machine.travel(NOW, tick=False):
        what_if = scoring_rule_what_if(rule=checkout, original=rule("Checkout started"))
    assert (what_if.changed, what_if.down, what_if.cross_up) == (1, 1, 0)
    assert what_if.examples[0].after == 3
    assert (ScoreEntry.objects.count(), dict(Contact.objects.values_list("pk", "score"))) == before


def test_the_explanation_lists_each_award_with_its_value_now():
    contact = person(company="Acme")
    old = event(contact, "Product Added", NOW - timedelta(days=30))
    new = event(contact, "Product Viewed", NOW)
    careers = event(contact, "Page Viewed", NOW, url="/careers")
    score_now(contact, old, new, careers)
    explanation = contact_score_explanation(contact=contact, at=NOW)
    values = [
        (c.rule_name, c.event_id, c.points, round(c.current, 6)) for c in explanation.contributions
    ]
    assert values == [
        ("Product added to cart", old.pk, 10, 5.0),
        ("Has a company", None, 3, 3.0),
        ("Product viewed", new.pk, 2, 2.0),
        ("Page viewed", careers.pk, 1, 1.0),
        ("Careers page viewed", careers.pk, -15, -15.0),
    ]
    assert explanation.total == pytest.approx(5 + 3 + 2 + 1 - 15)
    assert explanation.threshold == 50
    assert explanation.by_rule[0].rule_name == "Product added to cart"


# --- Pages ---------------------------------------------------------------------------------


def test_scoring_pages_need_the_scoring_capability(client_as):
    client = client_as(Role.REP)
    assert client.get("/scoring/").status_code == 403
    for role in (Role.MARKETER, Role.SALES_MANAGER):
        assert client_as(role).get("/scoring/").status_code == 200


def test_rule_list_flags_events_never_seen(client_as, django_assert_max_num_queries):
    contact = person()
    event(contact, "Product Viewed")
    client = client_as(Role.MARKETER)
    with django_assert_max_num_queries(12):
        response = client.get("/scoring/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="rule-row"') == ScoringRule.objects.count()
    assert (
        html.count('data-testid="unseen-event"')
        == ScoringRule.objects.filter(kind="behaviour").exclude(event_name="Product Viewed").count()
    )
    response = client.get("/scoring/", {"kind": "fit", "q": "country"})
    assert response.content.decode().count('data-testid="rule-row"') == 1


def test_a_marketer_creates_a_rule_and_errors_sit_next_to_their_field(client_as):
    client = client_as(Role.MARKETER)
    model = ScoreModel.objects.get(is_primary=True)
    assert client.get(f"/scoring/rules/new/?model={model.pk}").status_code == 200
    form = {
        "model": model.pk,
        "name": "Big cart",
        "kind": "behaviour",
        "points": "8",
        "event_name": "Product Added",
        "active": "on",
        "cond-TOTAL_FORMS": "3",
        "cond-INITIAL_FORMS": "0",
        "cond-0-property": "price",
        "cond-0-operator": "gt",
        "cond-0-value": "lots",
    }
    response = client.post(f"/scoring/rules/new/?model={model.pk}", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-value"' in html and "is not a number" in html
    assert not ScoringRule.objects.filter(name="Big cart").exists()

    form["cond-0-value"] = "100"
    response = client.post(f"/scoring/rules/new/?model={model.pk}", form)
    created = ScoringRule.objects.get(name="Big cart")
    assert response.status_code == 302 and response.url == f"/scoring/rules/{created.pk}/"
    assert created.conditions == [{"property": "price", "operator": "gt", "value": "100"}]
    assert created.created_by is not None and created.ledger_stale


def test_editing_a_rule_someone_else_saved_shows_a_conflict(client_as, user_with_role):
    viewed = rule("Product viewed")
    client = client_as(Role.MARKETER)
    page = client.get(f"/scoring/rules/{viewed.pk}/edit/")
    assert f'name="version" value="{viewed.version}"' in page.content.decode()
    other = user_with_role(Role.SALES_MANAGER, username="sam")
    scoring_rule_update(rule=viewed, version=viewed.version, actor=other, points=3, limit_points=9)
    form = {
        "name": "Product viewed",
        "kind": "behaviour",
        "points": "4",
        "event_name": "Product Viewed",
        "limit_points": "12",
        "limit_period": "week",
        "active": "on",
        "version": viewed.version,
        "cond-TOTAL_FORMS": "3",
        "cond-INITIAL_FORMS": "0",
    }
    response = client.post(f"/scoring/rules/{viewed.pk}/edit/", form)
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="conflict"' in html
    assert f"{other.get_full_name() or other.username} saved this rule" in html
    assert rule("Product viewed").points == 3  # not overwritten
    form["version"] = viewed.version + 1  # saving again, knowingly, wins
    assert client.post(f"/scoring/rules/{viewed.pk}/edit/", form).status_code == 302
    assert rule("Product viewed").points == 4


def test_the_preview_shows_the_what_if(client_as):
    contact = person()
    score_now(contact, *[event(contact, "Checkout Started") for _ in range(3)])
    client = client_as(Role.MARKETER)
    model = ScoreModel.objects.get(is_primary=True)
    form = {
        "model": model.pk,
        "name": "Checkout again",
        "kind": "behaviour",
        "points": "10",
        "event_name": "Checkout Started",
        "active": "on",
        "cond-TOTAL_FORMS": "3",
        "cond-INITIAL_FORMS": "0",
    }
    with time_machine.travel(NOW, tick=False):
        html = client.post("/scoring/rules/preview/", form).content.decode()
    assert 'data-testid="what-if-changed">1<' in html
    assert 'data-testid="what-if-mql">1<' in html
    form["event_name"] = "Checkout Begun"
    html = client.post("/scoring/rules/preview/", form).content.decode()
    assert 'data-testid="what-if-changed">0<' in html and 'data-testid="what-if-unseen"' in html
    form["points"] = "0"
    html = client.post("/scoring/rules/preview/", form).content.decode()
    assert 'data-testid="what-if-incomplete"' in html or "does nothing" in html


def test_rule_detail_models_and_panel_pages(client_as, django_assert_max_num_queries):
    contact = person(company="Acme")
    score_now(contact, event(contact, "Product Added"), event(contact, "Product Viewed"))
    client = client_as(Role.MARKETER)
    added = rule("Product added to cart")
    with django_assert_max_num_queries(10):
        html = client.get(f"/scoring/rules/{added.pk}/").content.decode()
    assert 'data-testid="stat-awards">1<' in html
    with django_assert_max_num_queries(8):
        assert client.get("/scoring/models/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(f"/scoring/rules/{added.pk}/edit/").status_code == 200
    detail = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert f"/scoring/contacts/{contact.pk}/panel/" in detail
    with django_assert_max_num_queries(12):
        panel = client.get(f"/scoring/contacts/{contact.pk}/panel/").content.decode()
    assert 'data-testid="score-by-rule"' in panel and "Product added to cart" in panel


def test_the_recompute_button_queues_and_the_fragment_polls_until_done(client_as):
    client = client_as(Role.MARKETER)
    html = client.post("/scoring/recompute/", HTTP_HX_REQUEST="true").content.decode()
    recompute = ScoreRecompute.objects.get()
    assert recompute.status == "queued"
    assert f'hx-get="/scoring/recompute/{recompute.pk}/"' in html and "every 1s" in html
    score_recompute_process(enqueue_rest=False)
    html = client.get(f"/scoring/recompute/{recompute.pk}/").content.decode()
    assert 'data-testid="recompute-percent">100%<' in html and "every 1s" not in html


def test_a_failed_recompute_can_be_resumed_from_the_page(client_as, monkeypatch):
    person()
    score_recompute_request()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(scoring, "_apply_totals", broken)
    assert score_recompute_process(enqueue_rest=False).status == "failed"
    client = client_as(Role.MARKETER)
    html = client.get("/scoring/").content.decode()
    assert "disk full" in html and "Resume" in html
    monkeypatch.undo()
    recompute = ScoreRecompute.objects.get()
    client.post(f"/scoring/recompute/{recompute.pk}/")
    assert ScoreRecompute.objects.get().status == "running"
    assert score_recompute_process(enqueue_rest=False).status == "done"


def test_the_nightly_recompute_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["score-recompute-nightly"]
    assert entry["task"] == "leads.score_recompute_nightly"
