"""Journeys: graphs checked before publishing, versions kept for running contacts, entry
rules, waits as rows, event waits and goals, splits, actions; the review-request journey
end to end with time travel through the real e-mail client to the stand-in provider."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from automations.journeys.engine import (
    EditConflict,
    journey_draft_save,
    journey_enroll,
    journey_problems,
    journey_publish,
    journey_set_status,
    journeys_on_events,
    runs_dispatch,
    triggers_forget,
)
from automations.journeys.graph import graph_check
from automations.journeys.nodes import next_local_time
from automations.models import Delivery, Journey, JourneyRun, MessageTemplate, RunStep
from automations.services.deliveries import deliveries_dispatch
from automations.services.sending import delivery_send
from automations.services.templates import template_create
from leads.models import Consent, Contact, Segment, SegmentMembership
from tests.leads.factories import ConsentFactory, ContactFactory, EventFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 10, 10, tzinfo=UTC)  # noon in Berlin


def node(node_id: str, node_type: str, /, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "config": config}


def edge(source: str, target: str, branch: str = "next") -> dict[str, str]:
    return {"from": source, "to": target, "branch": branch}


def email_template(
    name: str = "Review request", body: str = "How was it, {{ contact.first_name }}?"
) -> MessageTemplate:
    return template_create(
        actor=None,
        name=name,
        channel="email",
        purpose="marketing",
        default_locale="en",
        parts={"subject": body, "html": f"<p>{body}</p><a href='{{{{ unsubscribe_url }}}}'>x</a>"},
    )


def published(graph: dict[str, Any], **fields: Any) -> Journey:
    journey = Journey.objects.create(name=fields.pop("name", "J"), draft=graph, **fields)
    journey_publish(journey=journey, version=journey.version, actor=None)
    journey.refresh_from_db()
    triggers_forget()
    return journey


def shopper(**fields: Any) -> Contact:
    contact = ContactFactory(
        email=fields.pop("email", "anna@example.com"), time_zone="Europe/Berlin", **fields
    )
    ConsentFactory(contact=contact, channel="email", status=Consent.Status.GRANTED)
    return contact


def viewed(contact: Contact, at: datetime = T0, name: str = "Product Viewed") -> int:
    return EventFactory(contact=contact, name=name, occurred_at=at).pk


# --- Checking graphs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "says"),
    [
        ({"nodes": [node("w", "wait", hours=1)], "edges": []}, "exactly one trigger"),
        (
            {
                "nodes": [
                    node("t", "trigger", kind="event", event="X"),
                    node("w", "wait", hours=1),
                ],
                "edges": [],
            },
            "not connected",
        ),
        (
            {
                "nodes": [
                    node("t", "trigger", kind="event", event="X"),
                    node("a", "wait", hours=1),
                    node("b", "wait", hours=1),
                ],
                "edges": [edge("t", "a"), edge("a", "b"), edge("b", "a")],
            },
            "loop",
        ),
        (
            {
                "nodes": [
                    node("t", "trigger", kind="event", event="X"),
                    node(
                        "s",
                        "split",
                        branches=[{"key": "a", "percent": 60}, {"key": "b", "percent": 30}],
                    ),
                ],
                "edges": [edge("t", "s")],
            },
            "add up to 100",
        ),
        (
            {
                "nodes": [
                    node("t", "trigger", kind="event", event="X"),
                    node("c", "condition", kind="stage", stages=["lead"]),
                ],
                "edges": [edge("t", "c")],
            },
            "No path leaves",
        ),
        (
            {
                "nodes": [
                    node("t", "trigger", kind="event", event="X"),
                    node("w", "wait", hours=1),
                ],
                "edges": [edge("t", "w", "yes")],
            },
            "no “yes” path",
        ),
        (
            {"nodes": [node("t", "trigger", kind="event", event="")], "edges": []},
            "which event starts it",
        ),
    ],
)
def test_a_graph_with_a_problem_cannot_be_published(graph, says):
    checked, problems = graph_check(graph)
    assert checked is None
    assert any(says in p.message for p in problems), [p.message for p in problems]
    journey = Journey.objects.create(name="Broken", draft=graph)
    with pytest.raises(ValidationError):
        journey_publish(journey=journey, version=journey.version, actor=None)
    assert not journey.versions.exists()


def test_a_missing_template_and_a_wrong_channel_are_named_per_node():
    sms = template_create(
        actor=None,
        name="SMS",
        channel="sms",
        purpose="transactional",
        default_locale="en",
        parts={"text": "Hi"},
    )
    graph = {
        "nodes": [
            node("t", "trigger", kind="event", event="X"),
            node("e1", "send_email", template=999999),
            node("e2", "send_email", template=sms.pk),
        ],
        "edges": [edge("t", "e1"), edge("e1", "e2")],
    }
    problems = dict(journey_problems(Journey(name="x", draft=graph)))
    assert "missing" in problems["e1"] and "another channel" in problems["e2"]


def test_drafts_conflict_and_running_contacts_keep_their_version():
    template = email_template()
    graph = {
        "nodes": [
            node("t", "trigger", kind="event", event="Product Viewed"),
            node("w", "wait", days=1),
            node("m", "send_email", template=template.pk),
        ],
        "edges": [edge("t", "w"), edge("w", "m")],
    }
    journey = published(graph)
    anna = shopper()
    journeys_on_events(event_ids=[viewed(anna)], now=T0)
    runs_dispatch(now=T0)
    run = JourneyRun.objects.get()
    assert (run.status, run.node, run.version.number) == ("waiting", "m", 1)

    with pytest.raises(EditConflict):
        journey_draft_save(journey=journey, version=journey.version - 1, actor=None, draft={})
    shorter = {
        **graph,
        "nodes": [*graph["nodes"][:1], node("w", "wait", hours=1), graph["nodes"][2]],
    }
    journey = journey_draft_save(
        journey=journey, version=journey.version, actor=None, draft=shorter
    )
    journey_publish(journey=journey, version=journey.version, actor=None)
    run.refresh_from_db()
    assert run.version.number == 1 and run.due_at == T0 + timedelta(days=1)
    assert journey.versions.count() == 2


# --- Entering ----------------------------------------------------------------------------------


def simple(**fields: Any) -> Journey:
    graph = {
        "nodes": [
            node(
                "t",
                "trigger",
                kind="event",
                event="Product Viewed",
                conditions=[{"property": "category", "operator": "eq", "value": "shoes"}],
            ),
            node("w", "wait", days=1),
        ],
        "edges": [edge("t", "w")],
    }
    return published(graph, **fields)


def shoes(contact: Contact, at: datetime = T0) -> int:
    return EventFactory(
        contact=contact, name="Product Viewed", occurred_at=at, properties={"category": "shoes"}
    ).pk


def test_only_matching_events_start_runs_and_a_redelivered_event_starts_one():
    journey = simple()
    anna, ben = shopper(), shopper(email="ben@example.com")
    socks = EventFactory(contact=ben, name="Product Viewed", properties={"category": "socks"}).pk
    first = shoes(anna)
    journeys_on_events(event_ids=[first, socks], now=T0)
    journeys_on_events(event_ids=[first], now=T0)  # the same batch again
    assert list(JourneyRun.objects.values_list("contact_id", flat=True)) == [anna.pk]
    assert journey.runs.count() == 1


@pytest.mark.parametrize(
    ("reentry", "days", "expected"),
    [("once", None, 1), ("per_days", 7, 2), ("always", None, 3)],
)
def test_reentry_rules(reentry, days, expected):
    journey = simple(reentry=reentry, reentry_days=days)
    anna = shopper()
    for n, at in enumerate([T0, T0 + timedelta(days=2), T0 + timedelta(days=9)]):
        journeys_on_events(event_ids=[shoes(anna, at)], now=at)
        # Each run finishes before the next entry (one active run at a time).
        JourneyRun.objects.filter(status="waiting").update(status="done")
        del n
    assert journey.runs.count() == expected


def test_one_active_run_per_contact_and_the_audience_filter():
    vips = Segment.objects.create(name="VIP", kind=Segment.Kind.STATIC)
    journey = simple(reentry="always", audience=vips)
    anna, ben = shopper(), shopper(email="ben@example.com")
    SegmentMembership.objects.create(segment=vips, contact=anna, entered_at=T0, via="hand")
    journeys_on_events(event_ids=[shoes(anna), shoes(ben)], now=T0)
    journeys_on_events(event_ids=[shoes(anna, T0 + timedelta(minutes=5))], now=T0)
    assert list(journey.runs.values_list("contact_id", flat=True)) == [anna.pk]


def test_a_paused_journey_takes_nobody_and_archiving_ends_the_runs():
    journey = simple()
    anna = shopper()
    journeys_on_events(event_ids=[shoes(anna)], now=T0)
    journey_set_status(journey=journey, status="paused", actor=None)
    journeys_on_events(event_ids=[shoes(shopper(email="b@example.com"))], now=T0)
    assert journey.runs.count() == 1
    journey_set_status(journey=journey, status="archived", actor=None)
    assert JourneyRun.objects.get().status == JourneyRun.Status.EXITED


# --- Running -----------------------------------------------------------------------------------


def review_journey(template: MessageTemplate, second: MessageTemplate) -> Journey:
    """Seed 003's journey: product viewed → tag → no purchase in 24 h → review e-mail →
    still none after 3 days → a second e-mail. A purchase is the goal."""
    return published(
        {
            "nodes": [
                node("t", "trigger", kind="event", event="Product Viewed"),
                node("tag", "update_property", property="viewed_product", tag=True),
                node("w1", "wait_event", event="Order Completed", hours=24),
                node("m1", "send_email", template=template.pk),
                node("w2", "wait_event", event="Order Completed", hours=72),
                node("m2", "send_email", template=second.pk),
                node("goal", "goal", event="Order Completed"),
            ],
            "edges": [
                edge("t", "tag"),
                edge("tag", "w1"),
                edge("w1", "m1", "timeout"),
                edge("m1", "w2"),
                edge("w2", "m2", "timeout"),
            ],
        },
        name="Review request",
    )


def advance(now: datetime) -> None:
    """The beat at `now`: due runs move, due deliveries go out."""
    runs_dispatch(now=now)
    for delivery_id in deliveries_dispatch(now=now):
        delivery_send(delivery_id=delivery_id, now=now)


def test_the_review_journey_end_to_end_through_sendgrid(standin_settings):
    review = email_template()
    code = email_template("Code", "10 % off for you, {{ contact.first_name }}")
    review_journey(review, code)
    anna = shopper(first_name="Anna")
    journeys_on_events(event_ids=[viewed(anna)], now=T0)
    advance(T0)
    run = JourneyRun.objects.get()
    anna.refresh_from_db()
    assert anna.properties["tags"] == ["viewed_product"]
    assert (run.node, run.waiting_for, run.due_at) == (
        "w1",
        "Order Completed",
        T0 + timedelta(hours=24),
    )

    advance(T0 + timedelta(hours=23))
    assert standin_settings.emails == []
    advance(T0 + timedelta(hours=24))  # no purchase: the review request goes
    [first] = standin_settings.emails
    assert first.subject == "How was it, Anna?"
    run.refresh_from_db()
    assert run.node == "w2"

    advance(T0 + timedelta(hours=24 + 72))
    assert [m.subject for m in standin_settings.emails][-1] == "10 % off for you, Anna"
    run.refresh_from_db()
    assert run.status == JourneyRun.Status.DONE
    per_node = Counter(RunStep.objects.filter(run=run).values_list("node", flat=True))
    assert per_node == {"t": 1, "tag": 1, "w1": 2, "m1": 1, "w2": 2, "m2": 1}
    assert Delivery.objects.filter(origin="journey").count() == 2


def test_a_purchase_while_waiting_takes_the_event_path_and_reaches_the_goal():
    review = email_template()
    journey = published(
        {
            "nodes": [
                node("t", "trigger", kind="event", event="Product Viewed"),
                node("w1", "wait_event", event="Order Completed", hours=24),
                node("thanks", "update_property", property="bought_after_viewing", value="yes"),
                node("m1", "send_email", template=review.pk),
            ],
            "edges": [edge("t", "w1"), edge("w1", "thanks", "event"), edge("w1", "m1", "timeout")],
        }
    )
    anna = shopper()
    journeys_on_events(event_ids=[viewed(anna)], now=T0)
    runs_dispatch(now=T0)
    bought = viewed(anna, T0 + timedelta(hours=3), name="Order Completed")
    journeys_on_events(event_ids=[bought], now=T0 + timedelta(hours=3))
    run = journey.runs.get()
    anna.refresh_from_db()
    assert run.status == JourneyRun.Status.DONE and anna.properties["bought_after_viewing"] == "yes"
    assert not Delivery.objects.exists()


def test_a_goal_ends_a_waiting_run_as_converted():
    review = email_template()
    journey = review_journey(review, review)
    anna = shopper()
    journeys_on_events(event_ids=[viewed(anna)], now=T0)
    runs_dispatch(now=T0)
    # The order event also answers w1's wait; the goal is checked first and ends the run.
    journeys_on_events(event_ids=[viewed(anna, T0, name="Order Completed")], now=T0)
    run = journey.runs.get()
    assert run.status == JourneyRun.Status.CONVERTED
    runs_dispatch(now=T0 + timedelta(days=5))
    assert not Delivery.objects.exists()


def test_a_split_sends_each_run_down_one_path_by_its_percentages():
    journey = published(
        {
            "nodes": [
                node("t", "trigger", kind="manual"),
                node(
                    "s",
                    "split",
                    branches=[{"key": "a", "percent": 70}, {"key": "b", "percent": 30}],
                ),
                node("a", "update_property", property="arm", value="a"),
                node("b", "update_property", property="arm", value="b"),
            ],
            "edges": [edge("t", "s"), edge("s", "a", "a"), edge("s", "b", "b")],
        }
    )
    contacts = [ContactFactory() for _ in range(300)]
    assert (
        journey_enroll(journey=journey, contact_ids=[c.pk for c in contacts], key="batch", now=T0)
        == 300
    )
    runs_dispatch(now=T0, limit=1000)
    arms = Counter(
        c.properties.get("arm") for c in Contact.objects.filter(pk__in=[c.pk for c in contacts])
    )
    assert arms["a"] + arms["b"] == 300
    assert 170 <= arms["a"] <= 250  # 70 % of 300 = 210, within a generous margin


def test_a_template_that_breaks_for_one_contact_fails_that_run_only():
    template = template_create(
        actor=None,
        name="Sizes",
        channel="email",
        purpose="transactional",
        default_locale="en",
        parts={
            "subject": "Hi",
            "html": "{% for s in contact.properties.sizes %}{{ s }}{% endfor %}",
        },
    )
    journey = published(
        {
            "nodes": [
                node("t", "trigger", kind="manual"),
                node("m", "send_email", template=template.pk),
            ],
            "edges": [edge("t", "m")],
        }
    )
    good, bad = (
        ContactFactory(properties={"sizes": [42, 43]}),
        ContactFactory(properties={"sizes": 5}),
    )
    journey_enroll(journey=journey, contact_ids=[good.pk, bad.pk], now=T0)
    runs_dispatch(now=T0)
    runs = {run.contact_id: run for run in journey.runs.all()}
    assert runs[good.pk].status == "done"
    assert runs[bad.pk].status == "failed" and "could not be written" in runs[bad.pk].error
    assert Delivery.objects.get().contact_id == good.pk
    assert Delivery.objects.get().body_html == "4243"


def test_two_dispatchers_advance_each_run_once():
    journey = simple()
    anna = shopper()
    journeys_on_events(event_ids=[shoes(anna)], now=T0)
    first = runs_dispatch(now=T0)
    second = runs_dispatch(now=T0)
    assert len(first) == 1 and second == []
    assert RunStep.objects.filter(node="w").count() == 1
    assert journey.runs.get().status == "done"  # the path ends at the wait


def test_wait_until_keeps_the_wall_clock_across_dst():
    from datetime import time
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    saturday_night = datetime(2025, 3, 29, 22, tzinfo=berlin)  # clocks go forward that night
    nine = next_local_time(saturday_night, berlin, time(9), list(range(7)))
    assert nine == datetime(2025, 3, 30, 9, tzinfo=berlin)
    assert nine.utcoffset() == timedelta(hours=2)
    monday = next_local_time(saturday_night, berlin, time(9), [0])
    assert monday.date().isoformat() == "2025-03-31"


def test_a_run_claimed_by_a_dispatcher_that_died_waits_again():
    from automations.journeys.engine import runs_requeue_lost

    journey = simple()
    journeys_on_events(event_ids=[shoes(shopper())], now=T0)
    JourneyRun.objects.update(status="queued")  # claimed, then the process died
    assert runs_requeue_lost(now=T0 + timedelta(minutes=1)) == 0
    assert runs_requeue_lost(now=T0 + timedelta(minutes=6)) == 1
    assert runs_dispatch(now=T0 + timedelta(minutes=6))
    assert journey.runs.get().status == "done"


def test_a_code_issued_by_a_step_reaches_the_next_message_once():
    from automations.models import DiscountCode
    from automations.services.codes import campaign_create

    campaign = campaign_create(name="Win back", kind="pattern", pattern="BACK-{code}", value="10 %")
    template = email_template("Code mail", "Your code: {{ discount_code }}")
    journey = published(
        {
            "nodes": [
                node("t", "trigger", kind="manual"),
                node("c", "issue_code", campaign=campaign.pk),
                node("m", "send_email", template=template.pk),
            ],
            "edges": [edge("t", "c"), edge("c", "m")],
        }
    )
    anna = shopper()
    journey_enroll(journey=journey, contact_ids=[anna.pk], now=T0)
    runs_dispatch(now=T0)
    code = DiscountCode.objects.get(contact=anna)
    assert code.code.startswith("BACK-")
    assert Delivery.objects.get().subject == f"Your code: {code.code}"
    assert journey.runs.get().data == {"discount_code": code.code}


def test_a_task_step_and_a_survey_step(standin_settings):
    from automations.models import Survey, TeamTask
    from automations.services.surveys import survey_create

    survey = survey_create(
        name="NPS", kind="nps", question="Would you recommend us?", thank_you="Thanks!"
    )
    carrier = template_create(
        actor=None,
        name="NPS mail",
        channel="email",
        purpose="transactional",
        default_locale="en",
        parts={
            "subject": "Quick question",
            "html": "{% for score, url in survey_scores %}<a href='{{ url }}'>{{ score }}</a>{% endfor %}",
        },
    )
    journey = published(
        {
            "nodes": [
                node("t", "trigger", kind="manual"),
                node("task", "create_task", title="Call {{ contact.name }}", body="", role=""),
                node("s", "send_survey", survey=survey.pk, template=carrier.pk),
            ],
            "edges": [edge("t", "task"), edge("task", "s")],
        }
    )
    anna = shopper(first_name="Anna", last_name="Berg")
    journey_enroll(journey=journey, contact_ids=[anna.pk], now=T0)
    runs_dispatch(now=T0)
    task = TeamTask.objects.get()
    assert (task.title, task.role, task.contact_id) == ("Call Anna Berg", "sales_manager", anna.pk)
    html = Delivery.objects.get().body_html
    assert html.count("/s/") == 11 and Survey.objects.get().pk == survey.pk


def test_steps_naming_a_missing_survey_or_campaign_cannot_be_published():
    graph = {
        "nodes": [
            node("t", "trigger", kind="manual"),
            node("c", "issue_code", campaign=424242),
            node("s", "send_survey", survey=424242, template=424242),
        ],
        "edges": [edge("t", "c"), edge("c", "s")],
    }
    problems: dict[str, list[str]] = {}
    for node_id, message in journey_problems(Journey(name="x", draft=graph)):
        problems.setdefault(node_id, []).append(message)
    assert problems["c"] == ["Choose a discount campaign: this one is missing."]
    assert "Choose a survey: this one is missing." in problems["s"]
    assert "Choose a message template: this one is missing." in problems["s"]


def test_split_results_say_which_path_wins_and_messages_and_revenue_add_up(client_as):
    from decimal import Decimal

    from automations.selectors_journeys import journey_messages, journey_splits, two_proportion_p
    from growth.roles import Role
    from leads.models import Order
    from tests.leads.factories import SourceFactory

    journey = published(
        {
            "nodes": [
                node("t", "trigger", kind="manual"),
                node(
                    "s",
                    "split",
                    branches=[{"key": "a", "percent": 50}, {"key": "b", "percent": 50}],
                ),
                node("wa", "wait", days=1),
                node("wb", "wait", days=1),
                node("goal", "goal", event="Order Completed"),
            ],
            "edges": [edge("t", "s"), edge("s", "wa", "a"), edge("s", "wb", "b")],
        }
    )
    contacts = [ContactFactory() for _ in range(200)]
    journey_enroll(journey=journey, contact_ids=[c.pk for c in contacts], now=T0)
    runs_dispatch(now=T0, limit=1000)
    by_arm = {"a": [], "b": []}
    for step in RunStep.objects.filter(node="s"):
        by_arm[step.branch].append(step.run)
    # Path b converts 60 %, path a 10 %: a clear winner.
    source = SourceFactory()
    for arm, share in (("a", 0.1), ("b", 0.6)):
        for run in by_arm[arm][: round(len(by_arm[arm]) * share)]:
            JourneyRun.objects.filter(pk=run.pk).update(
                status="converted", ended_at=T0 + timedelta(hours=2)
            )
            Order.objects.create(
                source=source,
                shop_order_id=f"o{run.pk}",
                contact_id=run.contact_id,
                currency="EUR",
                status="paid",
                total=Decimal("10.00"),
                placed_at=T0 + timedelta(hours=2),
                shop_updated_at=T0,
            )
    [split] = journey_splits(journey)
    a, b = split.arms
    assert (a.runs + b.runs, a.converted, b.converted) == (
        200,
        round(len(by_arm["a"]) * 0.1),
        round(len(by_arm["b"]) * 0.6),
    )
    assert b.p_value == pytest.approx(two_proportion_p(a.converted, a.runs, b.converted, b.runs))
    assert b.p_value < 0.001 and split.best is b
    assert journey_messages(journey).revenue == Decimal("10.00") * (a.converted + b.converted)
    # Net, as the dashboards count it: a refund comes off, a cancelled order counts nothing.
    refunded, cancelled = Order.objects.order_by("pk")[:2]
    Order.objects.filter(pk=refunded.pk).update(refunded_total=Decimal("4.00"))
    Order.objects.filter(pk=cancelled.pk).update(status="cancelled")
    assert (
        journey_messages(journey).revenue == Decimal("10.00") * (a.converted + b.converted - 1) - 4
    )
    page = client_as(Role.MARKETER).get(f"/journeys/{journey.pk}/results/")
    assert 'data-testid="split-winner"' in page.content.decode()


def test_the_z_test_matches_a_textbook_value():
    from automations.selectors_journeys import two_proportion_p

    # 45/100 against 30/100: pooled 0.375, standard error sqrt(0.375 * 0.625 * 0.02) =
    # 0.06847, z = 0.15 / 0.06847 = 2.191, two-sided p = 0.0285.
    assert two_proportion_p(45, 100, 30, 100) == pytest.approx(0.0285, abs=0.0002)
    assert two_proportion_p(0, 0, 3, 10) is None


def test_date_triggers_enter_each_contact_once_a_day():
    from decimal import Decimal

    from automations.journeys.engine import journeys_on_dates
    from leads.models import Order
    from tests.leads.factories import SourceFactory

    win_back = published(
        {
            "nodes": [
                node(
                    "t", "trigger", kind="date_property", property="days_since_last_order", days=30
                ),
                node("w", "wait", days=1),
            ],
            "edges": [edge("t", "w")],
        },
        name="Win back",
        reentry="always",
    )
    birthday = published(
        {
            "nodes": [
                node("t", "trigger", kind="date_property", property="birthday", days=0),
                node("w", "wait", days=1),
            ],
            "edges": [edge("t", "w")],
        },
        name="Birthday",
        reentry="always",
    )
    source = SourceFactory()
    lapsed, recent = ContactFactory(), ContactFactory()
    for contact, days in ((lapsed, 30), (recent, 29), (lapsed, 45)):
        Order.objects.create(
            source=source,
            shop_order_id=f"o{contact.pk}-{days}",
            contact=contact,
            currency="EUR",
            total=Decimal("5"),
            placed_at=T0 - timedelta(days=days),
            shop_updated_at=T0,
        )
    born = ContactFactory(properties={"birthday": "1990-06-10"})
    ContactFactory(properties={"birthday": "06-11"})
    assert journeys_on_dates(now=T0) == 2
    assert journeys_on_dates(now=T0 + timedelta(hours=1)) == 0  # hourly beat: once a day
    assert list(win_back.runs.values_list("contact_id", flat=True)) == [lapsed.pk]
    assert list(birthday.runs.values_list("contact_id", flat=True)) == [born.pk]


def test_a_survey_answer_starts_the_journeys_listening_to_that_survey():
    from automations.journeys.engine import journeys_on_survey
    from automations.services.surveys import survey_create

    nps = survey_create(name="NPS", kind="nps", question="Recommend us?", thank_you="Thanks")
    journey = published(
        {
            "nodes": [
                node("t", "trigger", kind="survey_answered", survey=nps.pk),
                node("w", "wait", days=1),
            ],
            "edges": [edge("t", "w")],
        }
    )
    anna = shopper()
    journeys_on_survey(survey_id=nps.pk, contact_id=anna.pk, answer_id=7)
    journeys_on_survey(survey_id=nps.pk + 1, contact_id=anna.pk, answer_id=8)
    assert journey.runs.get().entry_key == "survey:7"
