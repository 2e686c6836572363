"""The journey pages: who may open them, the list with its counts and the blank or shipped
starts, the builder's JSON endpoints (draft round trip, edit conflicts, problems per node,
publishing, pause/resume/archive) and the results per node of the live version, each read
in a fixed number of queries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automations import selectors_journeys as selectors
from automations.journeys.engine import journey_publish
from automations.models import Journey, JourneyRun, JourneyVersion, MessageTemplate, RunStep
from automations.services.templates import template_create
from growth.roles import Role
from leads.models import Contact
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db


def node(node_id: str, node_type: str, /, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "config": config, "x": 40, "y": 40}


def edge(source: str, target: str, branch: str = "next") -> dict[str, str]:
    return {"from": source, "to": target, "branch": branch}


def sms_template(name: str = "Cart SMS") -> MessageTemplate:
    return template_create(
        actor=None,
        name=name,
        channel="sms",
        purpose="marketing",
        default_locale="en",
        parts={"text": "Your cart is waiting."},
    )


def cart_graph(template: int | None) -> dict[str, Any]:
    sms = node("m", "send_sms", template=template) if template else node("m", "send_sms")
    return {
        "nodes": [
            {**node("t", "trigger", kind="event", event="Checkout Started"), "x": 40, "y": 40},
            {**node("w", "wait", hours=1), "x": 40, "y": 170},
            {**sms, "x": 40, "y": 300},
            {**node("g", "goal", event="Order Completed"), "x": 320, "y": 40},
        ],
        "edges": [edge("t", "w"), edge("w", "m")],
    }


def post_json(client, url: str, body: Any):  # type: ignore[no-untyped-def]
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def marketer(client_as):  # type: ignore[no-untyped-def]
    return client_as(Role.MARKETER)


# --- Who may open them ---------------------------------------------------------------------------


def test_a_rep_is_refused_every_journey_page_and_endpoint(client_as):
    journey = Journey.objects.create(name="Cart", draft=cart_graph(None))
    rep = client_as(Role.REP)
    pk = journey.pk
    for method, url in [
        ("get", reverse("journeys")),
        ("post", reverse("journey_create")),
        ("post", reverse("journey_install")),
        ("get", reverse("journey_builder", args=[pk])),
        ("get", reverse("journey_draft", args=[pk])),
        ("post", reverse("journey_draft", args=[pk])),
        ("post", reverse("journey_check", args=[pk])),
        ("post", reverse("journey_publish", args=[pk])),
        ("post", reverse("journey_status", args=[pk])),
        ("get", reverse("journey_results", args=[pk])),
    ]:
        answer = getattr(rep, method)(url)
        assert answer.status_code == 403, url
    journey.refresh_from_db()
    assert (journey.version, journey.status) == (1, "draft")


def test_signed_out_visitors_are_sent_to_sign_in(client):
    answer = client.get(reverse("journeys"))
    assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_a_marketer_opens_the_list_with_its_empty_state_and_the_shipped_journeys(marketer):
    answer = marketer.get(reverse("journeys"))
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Start from a shipped journey or a blank canvas" in page
    assert 'data-shipped="abandoned_cart"' in page
    assert 'name="reentry"' in page and 'name="audience"' in page


# --- Creating --------------------------------------------------------------------------------------


def test_a_blank_journey_is_created_and_opens_in_the_builder(marketer):
    answer = marketer.post(
        reverse("journey_create"),
        {"name": "Abandoned checkout", "reentry": "per_days", "reentry_days": "7"},
    )
    journey = Journey.objects.get(name="Abandoned checkout")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("journey_builder", args=[journey.pk])
    assert journey.draft == {"nodes": [], "edges": []}
    assert (journey.status, journey.reentry, journey.reentry_days) == ("draft", "per_days", 7)

    page = marketer.get(answer["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="journey-config"' in html and 'type="application/json"' in html
    assert "drawflow-0.0.60.min.js" in html and "js/journey-builder.js" in html
    assert 'data-testid="palette-trigger"' in html and 'data-testid="palette-send_sms"' in html
    assert "<script>" not in html  # nothing inline: the CSP forbids it
    config = page.context["config"]
    assert config["journey"]["problems"] == [
        {"node": "", "message": "A journey needs exactly one trigger."}
    ]
    assert config["urls"]["draft"] == reverse("journey_draft", args=[journey.pk])


def test_per_days_needs_the_days_and_names_are_unique(marketer):
    answer = marketer.post(reverse("journey_create"), {"name": "X", "reentry": "per_days"})
    assert answer.status_code == 400
    assert "after how many days" in answer.content.decode()
    Journey.objects.create(name="Taken")
    answer = marketer.post(reverse("journey_create"), {"name": "Taken", "reentry": "once"})
    assert answer.status_code == 400
    assert Journey.objects.count() == 1


def test_a_shipped_journey_installs_as_a_draft_once(marketer):
    answer = marketer.post(reverse("journey_install"), {"key": "abandoned_cart"})
    journey = Journey.objects.get(shipped_key="abandoned_cart")
    assert answer["Location"] == reverse("journey_builder", args=[journey.pk])
    assert journey.status == "draft" and len(journey.draft["nodes"]) == 6
    page = marketer.get(reverse("journeys")).content.decode()
    assert 'data-shipped="abandoned_cart"' not in page
    assert 'data-journey="Abandoned cart"' in page
    assert marketer.post(reverse("journey_install"), {"key": "nope"}).status_code == 404


# --- The draft -------------------------------------------------------------------------------------


def test_the_draft_round_trips_with_positions_and_a_new_version(marketer):
    template = sms_template()
    journey = Journey.objects.create(name="Cart")
    url = reverse("journey_draft", args=[journey.pk])
    graph = cart_graph(template.pk)
    answer = post_json(marketer, url, {"version": 1, "graph": graph})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["version"], body["problems"], body["status"], body["live"]) == (
        2,
        [],
        "draft",
        None,
    )

    again = marketer.get(url).json()
    assert again["version"] == 2
    assert again["graph"] == graph
    assert [(n["id"], n["x"], n["y"]) for n in again["graph"]["nodes"]] == [
        ("t", 40, 40),
        ("w", 40, 170),
        ("m", 40, 300),
        ("g", 320, 40),
    ]
    journey.refresh_from_db()
    assert journey.draft == graph and journey.updated_by is not None


def test_a_stale_version_is_a_conflict_and_saves_nothing(marketer):
    journey = Journey.objects.create(name="Cart", draft=cart_graph(None))
    url = reverse("journey_draft", args=[journey.pk])
    assert post_json(marketer, url, {"version": 1, "graph": cart_graph(None)}).status_code == 200
    stale = post_json(marketer, url, {"version": 1, "graph": {"nodes": [], "edges": []}})
    assert stale.status_code == 409
    assert stale.json()["version"] == 2 and "Someone else saved" in stale.json()["error"]
    journey.refresh_from_db()
    assert journey.version == 2 and len(journey.draft["nodes"]) == 4


def test_problems_come_back_per_node(marketer):
    email = template_create(
        actor=None,
        name="Mail",
        channel="email",
        purpose="marketing",
        default_locale="en",
        parts={"subject": "Hi", "html": "<p>Hi</p><a href='{{ unsubscribe_url }}'>x</a>"},
    )
    journey = Journey.objects.create(name="Cart")
    graph = cart_graph(None)
    graph["nodes"].append(node("e", "send_email", template=email.pk))
    graph["nodes"].append(node("s", "send_sms", template=email.pk))
    graph["nodes"].append(node("lost", "wait", hours=2))
    graph["edges"] += [edge("m", "e"), edge("e", "s")]
    body = post_json(
        marketer, reverse("journey_draft", args=[journey.pk]), {"version": 1, "graph": graph}
    ).json()
    by_node: dict[str, list[str]] = {}
    for problem in body["problems"]:
        by_node.setdefault(problem["node"], []).append(problem["message"])
    assert set(by_node) == {"m", "lost"}  # the graph stops at its first problems
    assert "Choose a message template" in by_node["m"][0]
    assert "not connected" in by_node["lost"][0]

    # Fixed, the references are checked too: a template of the wrong channel.
    graph["nodes"][2]["config"]["template"] = sms_template().pk
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "lost"]
    body = post_json(
        marketer, reverse("journey_draft", args=[journey.pk]), {"version": 2, "graph": graph}
    ).json()
    assert body["problems"] == [{"node": "s", "message": "This template is for another channel."}]


def test_check_answers_problems_without_saving(marketer):
    journey = Journey.objects.create(name="Cart")
    url = reverse("journey_check", args=[journey.pk])
    body = post_json(marketer, url, {"graph": cart_graph(None)}).json()
    assert [p["node"] for p in body["problems"]] == ["m"]
    body = post_json(marketer, url, {"graph": cart_graph(sms_template().pk)}).json()
    assert body["problems"] == []
    journey.refresh_from_db()
    assert (journey.version, journey.draft) == (1, {})


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("not json", "not JSON"),
        ({"graph": {"nodes": [], "edges": []}}, "which version"),
        ({"version": 1, "graph": []}, "object with nodes and edges"),
        ({"version": 1, "graph": {"nodes": [{"id": "x" * 41, "type": "wait"}]}}, "not a step id"),
        ({"version": 1, "graph": {"nodes": [{"id": "a", "type": "wait", "config": []}]}}, "object"),
        ({"version": 1, "graph": {"nodes": [], "edges": ["a"]}}, "Each connection"),
    ],
)
def test_what_is_not_a_graph_is_refused(marketer, body, says):
    journey = Journey.objects.create(name="Cart")
    url = reverse("journey_draft", args=[journey.pk])
    data = body if isinstance(body, str) else json.dumps(body)
    answer = marketer.post(url, data=data, content_type="application/json")
    assert answer.status_code == 400
    assert says in answer.json()["error"]
    journey.refresh_from_db()
    assert journey.version == 1


# --- Publishing and status -------------------------------------------------------------------------


def test_publish_is_refused_with_problems_and_accepted_without(marketer):
    journey = Journey.objects.create(name="Cart", draft=cart_graph(None))
    url = reverse("journey_publish", args=[journey.pk])
    refused = marketer.post(url, {"version": 1}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400
    assert [p["node"] for p in refused.json()["problems"]] == ["m"]
    assert not JourneyVersion.objects.exists()

    save = post_json(
        marketer,
        reverse("journey_draft", args=[journey.pk]),
        {"version": 1, "graph": cart_graph(sms_template().pk)},
    )
    assert save.json()["problems"] == []
    assert marketer.post(url, {"version": 1}, HTTP_ACCEPT="application/json").status_code == 409
    published = marketer.post(url, {"version": 2}, HTTP_ACCEPT="application/json")
    assert published.status_code == 200, published.content
    assert (published.json()["status"], published.json()["live"]) == ("active", 1)
    journey.refresh_from_db()
    assert journey.status == "active" and journey.live is not None and journey.live.number == 1
    assert journey.live.trigger_event == "Checkout Started"


def test_publish_from_a_plain_form_redirects_with_a_message(marketer):
    journey = Journey.objects.create(name="Cart", draft=cart_graph(sms_template().pk))
    answer = marketer.post(reverse("journey_publish", args=[journey.pk]), {"version": 1})
    assert answer.status_code == 302
    assert answer["Location"] == reverse("journey_builder", args=[journey.pk])
    assert JourneyVersion.objects.filter(journey=journey, number=1).exists()


def published_cart() -> Journey:
    journey = Journey.objects.create(name="Cart", draft=cart_graph(sms_template().pk))
    journey_publish(journey=journey, version=journey.version, actor=None)
    journey.refresh_from_db()
    return journey


def test_pause_resume_and_archive(marketer):
    journey = published_cart()
    url = reverse("journey_status", args=[journey.pk])

    def status(value: str):  # type: ignore[no-untyped-def]
        return marketer.post(url, {"status": value}, HTTP_ACCEPT="application/json")

    assert status("paused").json()["status"] == "paused"
    assert Journey.objects.get(pk=journey.pk).status == "paused"
    resumed = status("active").json()
    assert (resumed["status"], resumed["live"]) == ("active", 1)
    run = JourneyRun.objects.create(
        journey=journey,
        version=journey.live,
        contact=ContactFactory(),
        entry_key="e1",
        due_at="2030-01-01T00:00:00Z",
    )
    answer = status("archived")
    assert answer.json()["status"] == "archived"
    run.refresh_from_db()
    assert run.status == "exited" and run.ended_at is not None
    assert status("bogus").status_code == 400


def test_a_journey_never_published_cannot_be_resumed(marketer):
    journey = Journey.objects.create(name="Cart")
    answer = marketer.post(
        reverse("journey_status", args=[journey.pk]),
        {"status": "active"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 400 and "Publish the journey first" in answer.json()["error"]


# --- Results ---------------------------------------------------------------------------------------


def run(journey: Journey, version: JourneyVersion, status: str, steps: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    contact: Contact = ContactFactory()
    item = JourneyRun.objects.create(
        journey=journey,
        version=version,
        contact=contact,
        entry_key=f"event:{contact.pk}",
        status=status,
        node="m",
        due_at="2030-01-01T00:00:00Z",
    )
    RunStep.objects.bulk_create(
        RunStep(run=item, journey=journey, version=version, node=n, outcome=outcome)
        for n, outcome in steps
    )
    return item


@pytest.fixture
def results_fixture() -> Journey:
    """Five runs on the live version 2 and one on version 1 (not counted)."""
    journey = published_cart()
    old = journey.live
    assert old is not None
    run(journey, old, "done", [("t", "passed"), ("w", "waiting"), ("m", "passed")])
    journey_publish(journey=journey, version=journey.version, actor=None)
    journey.refresh_from_db()
    live = journey.live
    assert live is not None and live.number == 2
    run(
        journey,
        live,
        "converted",
        [("t", "passed"), ("w", "waiting"), ("m", "passed"), ("g", "passed")],
    )
    run(journey, live, "waiting", [("t", "passed"), ("w", "waiting")])
    run(journey, live, "failed", [("t", "passed"), ("w", "waiting"), ("m", "failed")])
    run(journey, live, "done", [("t", "passed"), ("w", "waiting"), ("m", "dropped")])
    run(journey, live, "waiting", [("t", "passed")])  # just entered: the dispatcher is coming
    return journey


def test_results_count_every_node_of_the_live_version_exactly(results_fixture):
    journey = Journey.objects.select_related("live").get(pk=results_fixture.pk)
    with CaptureQueriesContext(connection) as queries:
        results = selectors.journey_results(journey)
    assert len(queries) == 2  # one over RunStep, one over JourneyRun
    counts = {n.id: n.as_dict() for n in results.nodes}
    assert counts == {
        "t": {"entered": 5, "waiting": 0, "passed": 5, "dropped": 0, "failed": 0},
        "w": {"entered": 4, "waiting": 1, "passed": 0, "dropped": 0, "failed": 0},
        "m": {"entered": 3, "waiting": 0, "passed": 1, "dropped": 1, "failed": 1},
        "g": {"entered": 1, "waiting": 0, "passed": 1, "dropped": 0, "failed": 0},
    }
    assert (results.started, results.converted, results.starting) == (5, 1, 1)
    assert results.conversion == pytest.approx(0.2)


def test_the_results_page_shows_the_counts_in_a_table_and_on_the_canvas(
    marketer, results_fixture, django_assert_max_num_queries
):
    url = reverse("journey_results", args=[results_fixture.pk])
    # +2: the journey's messages by status, and the revenue of its conversions.
    with django_assert_max_num_queries(14):
        answer = marketer.get(url)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-testid="started">5<' in html and 'data-testid="converted">1<' in html
    assert 'data-testid="conversion">20 %<' in html
    config = answer.context["config"]
    assert config["mode"] == "results"
    assert config["results"]["m"] == {
        "entered": 3,
        "waiting": 0,
        "passed": 1,
        "dropped": 1,
        "failed": 1,
    }
    assert config["graph"] == results_fixture.live.graph


def test_results_of_a_journey_never_published(marketer):
    journey = Journey.objects.create(name="Cart")
    answer = marketer.get(reverse("journey_results", args=[journey.pk]))
    assert answer.status_code == 200
    assert "Not published yet" in answer.content.decode()


# --- The list and its queries ----------------------------------------------------------------------


def test_list_rows_count_runs_in_two_queries_however_many_journeys(results_fixture):
    Journey.objects.create(name="Blank")
    with CaptureQueriesContext(connection) as queries:
        rows = {row.journey.name: row for row in selectors.journey_list_rows()}
    assert len(queries) == 2
    cart = rows["Cart"]
    # Six runs over both versions: two waiting, one converted.
    assert (cart.runs_active, cart.runs_total, cart.converted, cart.live_number) == (2, 6, 1, 2)
    assert cart.last_published == cart.journey.live.published_at
    blank = rows["Blank"]
    assert (blank.runs_active, blank.runs_total, blank.converted, blank.live_number) == (
        0,
        0,
        0,
        None,
    )


def test_the_list_page_reads_in_a_fixed_number_of_queries(marketer, results_fixture):
    url = reverse("journeys")
    marketer.get(url)  # warm the session and the permission cache
    with CaptureQueriesContext(connection) as few:
        marketer.get(url)
    for n in range(5):
        journey = Journey.objects.create(name=f"More {n}", draft=cart_graph(None))
        run(journey, results_fixture.live, "waiting", [("t", "passed")])
    with CaptureQueriesContext(connection) as many:
        answer = marketer.get(url)
    assert len(many) == len(few) <= 8
    html = answer.content.decode()
    assert html.count('data-testid="journey-row"') == 6
    row = html.split('data-journey="Cart"')[1].split("</tr>")[0]
    assert 'data-testid="runs">2 / 6<' in row and 'data-testid="converted">1<' in row
    assert "version 2" in row


def test_the_builder_reads_in_a_fixed_number_of_queries(marketer, django_assert_max_num_queries):
    journey = published_cart()
    for n in range(5):
        sms_template(f"SMS {n}")
    with django_assert_max_num_queries(12):
        answer = marketer.get(reverse("journey_builder", args=[journey.pk]))
    assert answer.status_code == 200
    config = answer.context["config"]
    assert {t["name"] for t in config["options"]["templates"]} >= {"Cart SMS", "SMS 4"}
    assert config["journey"]["live"] == 1 and config["journey"]["status"] == "active"
