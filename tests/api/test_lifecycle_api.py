"""Lifecycle stages and scores through the API: the stage and why, the stage history by
cursor, a move by hand through the contact page's service (with its refusals), the scores per
model and the contact page's explanation, the definitions and score models, and list queries
that do not grow with the page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import ContactScore, QualificationDefinition, ScoreModel, StageChange
from leads.selectors_scoring import contact_score_explanation
from leads.services.lifecycle import stage_change
from leads.services.scoring import scoring_apply
from tests.api.conftest import bearer
from tests.leads.factories import ContactFactory, EventFactory

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts/"
NOW = datetime.now(UTC)


def get(client, url, key, params=None):  # type: ignore[no-untyped-def]
    response = client.get(url, params or {}, headers=bearer(key))
    assert response.status_code == 200, response.content
    return response.json()


def move(client, contact, key, body):  # type: ignore[no-untyped-def]
    return client.post(
        f"{CONTACTS}{contact.pk}/lifecycle/move/",
        json.dumps(body),
        content_type="application/json",
        headers=bearer(key),
    )


def changed(contact, to_stage, cause, days_ago, **fields):  # type: ignore[no-untyped-def]
    return StageChange.objects.create(
        contact=contact,
        to_stage=to_stage,
        cause_kind=cause,
        at=NOW - timedelta(days=days_ago),
        **fields,
    )


# --- Stage and history -------------------------------------------------------------------------


def test_the_lifecycle_says_the_stage_and_why(client, key):
    contact = ContactFactory(lifecycle_stage="lead")
    stage_change(
        contact=contact, to_stage="mql", cause_kind="rule", detail="score 55", criterion="score"
    )
    body = get(client, f"{CONTACTS}{contact.pk}/lifecycle/", key)
    assert (body["contact"], body["stage"], body["stage_label"]) == (contact.pk, "mql", "MQL")
    latest = body["latest"]
    assert (latest["from_stage"], latest["to_stage"], latest["cause"]) == ("lead", "mql", "rule")
    assert (latest["detail"], latest["criterion"], latest["actor"]) == ("score 55", "score", None)
    fresh = get(client, f"{CONTACTS}{ContactFactory().pk}/lifecycle/", key)
    assert fresh["latest"] is None and fresh["merged_into"] is None
    assert client.get(f"{CONTACTS}{10**12}/lifecycle/", headers=bearer(key)).status_code == 404


def test_the_history_pages_newest_first_and_filters_by_cause(client, key):
    contact = ContactFactory(lifecycle_stage="customer")
    other = ContactFactory()
    first = changed(contact, "lead", "import", 9)
    second = changed(contact, "mql", "rule", 5, from_stage="lead")
    third = changed(contact, "customer", "order", 1, from_stage="mql", order_id=77)
    changed(other, "lead", "import", 1)
    url, params, seen = f"{CONTACTS}{contact.pk}/lifecycle/changes/", {"page_size": 2}, []
    while url:
        page = get(client, url, key, params)
        seen += page["results"]
        url, params = page["next"], None
    assert [c["id"] for c in seen] == [third.pk, second.pk, first.pk]
    assert seen[0]["order"] == 77 and seen[0]["from_stage"] == "mql"
    only = get(client, f"{CONTACTS}{contact.pk}/lifecycle/changes/", key, {"cause": "rule"})
    assert [c["id"] for c in only["results"]] == [second.pk]
    refused = client.get(
        f"{CONTACTS}{contact.pk}/lifecycle/changes/", {"cause": "magic"}, headers=bearer(key)
    )
    assert refused.status_code == 400 and "cause" in refused.json()["error"]["fields"]


# --- Moving by hand ----------------------------------------------------------------------------


def test_a_move_by_hand_goes_through_the_contact_page_service(client, key, admin):
    contact = ContactFactory(lifecycle_stage="mql")
    response = move(client, contact, key, {"to_stage": "sql", "reason": "asked for a quote"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stage"] == "sql" and body["latest"]["reason"] == "asked for a quote"
    assert body["latest"]["cause"] == "user" and body["latest"]["from_stage"] == "mql"
    assert body["latest"]["actor"] == (admin.get_full_name() or admin.get_username())
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "sql"
    change = StageChange.objects.get(contact=contact)
    assert (change.actor_id, change.cause_kind, change.reason) == (
        admin.pk,
        "user",
        "asked for a quote",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to_stage": "mql", "reason": "again"}, "to_stage"),  # it already is
        ({"to_stage": "sql"}, "reason"),
        ({"to_stage": "sql", "reason": ""}, "reason"),
        ({"to_stage": "sql", "reason": "x" * 1001}, "reason"),
        ({"to_stage": "boss", "reason": "why not"}, "to_stage"),
        ({"to_stage": "sql", "reason": "ok", "score": 99}, "score"),
    ],
)
def test_a_move_names_what_is_wrong(client, key, body, field):
    contact = ContactFactory(lifecycle_stage="mql")
    response = move(client, contact, key, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "mql" and not StageChange.objects.exists()


def test_a_merged_or_erased_contact_cannot_move(client, key):
    survivor = ContactFactory()
    merged = ContactFactory(lifecycle_stage="lead", merged_into=survivor)
    erased = ContactFactory(lifecycle_stage="lead", erased_at=NOW)
    for contact in (merged, erased):
        response = move(client, contact, key, {"to_stage": "mql", "reason": "test"})
        assert response.status_code == 409
        assert "merged or erased" in response.json()["error"]["message"]
    assert not StageChange.objects.exists()


def test_a_read_key_cannot_move(client, make_key):
    contact = ContactFactory(lifecycle_stage="mql")
    response = move(client, contact, make_key({"lifecycle": "read"}), {"to_stage": "sql"})
    assert response.status_code == 403
    assert "lifecycle:write" in response.json()["error"]["message"]


# --- Scores ------------------------------------------------------------------------------------


def scored_contact():  # type: ignore[no-untyped-def]
    contact = ContactFactory(country="", company="")  # no fit rule matches
    events = [
        EventFactory(contact=contact, name="Product Viewed", occurred_at=NOW - timedelta(days=d))
        for d in (0, 30)
    ]
    events.append(EventFactory(contact=contact, name="Checkout Started", occurred_at=NOW))
    scoring_apply(contact_ids=[contact.pk], event_ids=[e.pk for e in events])
    contact.refresh_from_db()
    return contact, events


def test_scores_per_model_as_stored(client, key):
    contact, _events = scored_contact()
    other = ScoreModel.objects.create(name="Wholesale", half_life_days=60)
    body = get(client, f"{CONTACTS}{contact.pk}/scores/", key)
    stored = ContactScore.objects.get(contact=contact, model__is_primary=True)
    assert body["score"] == contact.score > 0 and body["threshold"] == 50
    primary, second = body["models"]
    assert primary["model"]["primary"] is True and primary["model"]["name"] == "Shop"
    assert primary["total"] == pytest.approx(stored.total)
    assert (primary["behaviour"], primary["fit"]) == (pytest.approx(stored.behaviour), 0)
    assert second["model"]["id"] == other.pk
    assert (second["total"], second["computed_at"]) == (0.0, None)


def test_the_explanation_is_the_contact_page_s(client, key):
    contact, events = scored_contact()
    model = ScoreModel.objects.get(is_primary=True)
    body = get(client, f"{CONTACTS}{contact.pk}/scores/{model.pk}/", key)
    page = contact_score_explanation(contact=contact, model=model)
    assert [(c["rule"], c["event"], c["points"]) for c in body["contributions"]] == [
        (c.rule_id, c.event_id, c.points) for c in page.contributions
    ]
    assert [c["current"] for c in body["contributions"]] == [
        pytest.approx(c.current, rel=1e-4) for c in page.contributions
    ]
    assert {c["event"] for c in body["contributions"]} == {e.pk for e in events}
    old = next(c for c in body["contributions"] if c["event"] == events[1].pk)
    assert old["current"] == pytest.approx(old["points"] / 2, rel=1e-3)  # one half-life ago
    assert body["total"] == pytest.approx(page.total, rel=1e-4)
    assert body["stored_total"] == pytest.approx(page.score.total)
    assert (body["awards"], body["more"]) == (3, 0)
    assert [r["rule_name"] for r in body["by_rule"]] == [r.rule_name for r in page.by_rule]
    missing = client.get(f"{CONTACTS}{contact.pk}/scores/{10**9}/", headers=bearer(key))
    assert missing.status_code == 404


# --- Definitions and models --------------------------------------------------------------------


def test_definitions_and_score_models(client, key):
    page = get(client, "/api/v1/lifecycle/definitions/", key, {"kind": "mql"})
    mql = QualificationDefinition.objects.filter(kind="mql")
    assert sorted(d["id"] for d in page["results"]) == sorted(mql.values_list("pk", flat=True))
    assert page["results"] and all(d["kind"] == "mql" for d in page["results"])
    first = page["results"][0]
    assert len(first["described"]) == len(first["criteria"]) and first["described"][0]
    QualificationDefinition.objects.filter(kind="mql").update(active=False)
    assert (
        get(client, "/api/v1/lifecycle/definitions/", key, {"kind": "mql", "active": "true"})[
            "results"
        ]
        == []
    )
    models = get(client, "/api/v1/lifecycle/score-models/", key)["results"]
    assert [(m["name"], m["primary"]) for m in models] == [("Shop", True)]


# --- Query counts ------------------------------------------------------------------------------


def test_the_history_queries_do_not_grow_with_the_page(
    client, key, admin, django_assert_max_num_queries
):
    contact = ContactFactory()
    for day in range(30):
        changed(contact, "lead" if day % 2 else "mql", "user", day, actor=admin, reason="x")
    url = f"{CONTACTS}{contact.pk}/lifecycle/changes/"
    get(client, url, key)  # the key's first use writes its last_used_at once
    counts = []
    for size in (2, 30):
        with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(8):
            page = get(client, url, key, {"page_size": size})
        assert len(page["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
