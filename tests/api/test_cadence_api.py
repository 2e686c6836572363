"""Cadences and enrollments through the API: the cadences with their live steps and figures,
enrollments by cursor with their filters, enrolling by hand through the cadence page's rules
(one open cadence per contact, a published and active cadence, idempotent with a key),
pause / resume / stop, a rep's own enrollments only, and list queries that do not grow with
the page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cadences.models import Enrollment, Rep
from cadences.services.cadences import cadence_save, cadence_set_status
from cadences.services.enrollment import enrollment_start, enrollment_stop
from growth.roles import Role
from tests.api.conftest import bearer
from tests.cadences.helpers import mql, published, steps

pytestmark = pytest.mark.django_db


def get(client, url, key, params=None):  # type: ignore[no-untyped-def]
    response = client.get(url, params or {}, headers=bearer(key))
    assert response.status_code == 200, response.content
    return response.json()


def post(client, url, key, body=None):  # type: ignore[no-untyped-def]
    return client.post(
        url, json.dumps(body or {}), content_type="application/json", headers=bearer(key)
    )


def ids(page):  # type: ignore[no-untyped-def]
    return [row["id"] for row in page["results"]]


def start(contact, cadence, rep=None, n=""):  # type: ignore[no-untyped-def]
    enrollment = enrollment_start(
        contact=contact, key=f"t{contact.pk}{n}", cadence=cadence, rep=rep
    )
    assert enrollment is not None
    return enrollment


# --- Cadences ----------------------------------------------------------------------------------


def test_cadences_with_live_steps_and_figures(client, key):
    fast = published("Fast", kinds=((0, "call"), (1, "email_manual"), (3, "ghost_call")))
    draft = cadence_save(cadence=None, name="Draft", steps=steps((0, "call")))
    a, b, c = mql(1), mql(2), mql(3)
    start(a, fast)
    paused = start(b, fast)
    Enrollment.objects.filter(pk=paused.pk).update(status="paused")
    ended = start(c, fast)
    Enrollment.objects.filter(pk=ended.pk).update(status="ended", outcome="qualified")
    body = get(client, f"/api/v1/cadences/{fast.pk}/", key)
    assert (body["name"], body["status"], body["live_version"]) == ("Fast", "active", 1)
    assert [(s["position"], s["day"], s["kind"]) for s in body["live_steps"]] == [
        (1, 0, "call"),
        (2, 1, "email_manual"),
        (3, 3, "ghost_call"),
    ]
    assert body["enrollments"] == {"active": 1, "paused": 1, "ended": 1, "qualified": 1}
    page = get(client, "/api/v1/cadences/", key)
    assert ids(page) == [draft.pk, fast.pk]  # newest first
    assert page["results"][0]["live_steps"] == [] and page["results"][0]["live_version"] is None
    assert ids(get(client, "/api/v1/cadences/", key, {"status": "draft"})) == [draft.pk]
    assert client.get("/api/v1/cadences/999999/", headers=bearer(key)).status_code == 404


# --- Enrollments -------------------------------------------------------------------------------


def test_enrollments_filter_by_cadence_contact_rep_and_status(client, key, user_with_role):
    fast, slow = published("Fast"), published("Slow")
    ann = Rep.objects.create(user=user_with_role(Role.REP))
    a, b, c = mql(1), mql(2), mql(3)
    on_fast = start(a, fast, rep=ann)
    pooled = start(b, slow)  # no rep working: the shared pool
    Enrollment.objects.filter(pk=pooled.pk).update(rep=None)
    stopped = start(c, slow, rep=ann)
    enrollment_stop(enrollment=stopped, note="wrong person")
    url = "/api/v1/enrollments/"
    assert ids(get(client, url, key)) == [stopped.pk, pooled.pk, on_fast.pk]
    assert ids(get(client, url, key, {"cadence": slow.pk})) == [stopped.pk, pooled.pk]
    assert ids(get(client, url, key, {"contact": a.pk})) == [on_fast.pk]
    assert ids(get(client, url, key, {"rep": ann.pk})) == [stopped.pk, on_fast.pk]
    assert ids(get(client, url, key, {"rep": "pool"})) == [pooled.pk]
    assert ids(get(client, url, key, {"status": "ended", "outcome": "stopped"})) == [stopped.pk]
    body = get(client, f"{url}{stopped.pk}/", key)
    assert (body["cadence_name"], body["rep"], body["rep_name"]) == ("Slow", ann.pk, str(ann))
    assert (body["status"], body["outcome"], body["ended_note"]) == (
        "ended",
        "stopped",
        "wrong person",
    )
    for bad in ({"rep": "nobody"}, {"status": "asleep"}, {"cadence": "x"}, {"team": 1}):
        response = client.get(url, bad, headers=bearer(key))
        assert response.status_code == 400, bad
        assert set(bad) <= set(response.json()["error"]["fields"])


def test_a_rep_sees_its_own_enrollments_and_the_lead_it_is_shown(client, user_with_role):
    fast = published("Fast")
    me = user_with_role(Role.REP)
    mine = Rep.objects.create(user=me)
    theirs = Rep.objects.create(user=user_with_role(Role.REP))
    own = start(mql(1), fast, rep=mine)
    other = start(mql(2), fast, rep=theirs)
    shown = start(mql(3), fast)
    Enrollment.objects.filter(pk=shown.pk).update(
        rep=None, leased_to=mine, lease_until=datetime.now(UTC) + timedelta(minutes=5)
    )
    lapsed = start(mql(4), fast)
    Enrollment.objects.filter(pk=lapsed.pk).update(
        rep=None, leased_to=mine, lease_until=datetime.now(UTC) - timedelta(minutes=5)
    )
    client.force_login(me)
    page = client.get("/api/v1/enrollments/").json()
    assert ids(page) == [shown.pk, own.pk]
    assert client.get(f"/api/v1/enrollments/{other.pk}/").status_code == 404
    assert client.get(f"/api/v1/enrollments/{lapsed.pk}/").status_code == 404
    assert client.get("/api/v1/cadences/").status_code == 403  # the designs are not a rep's


# --- Enrolling ---------------------------------------------------------------------------------


def test_enroll_puts_the_contact_on_the_cadence(client, key, user_with_role):
    fast = published("Fast")
    rep = Rep.objects.create(user=user_with_role(Role.REP))
    lead = mql(1)
    response = post(
        client, f"/api/v1/cadences/{fast.pk}/enroll/", key, {"contact": lead.pk, "rep": rep.pk}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["enrolled"] is True
    enrollment = Enrollment.objects.get(contact=lead)
    assert body["enrollment"]["id"] == enrollment.pk
    assert (enrollment.cadence_id, enrollment.rep_id, enrollment.status) == (
        fast.pk,
        rep.pk,
        "active",
    )
    assert (body["enrollment"]["step"], body["enrollment"]["kind"]) == (1, "call")
    assert enrollment.due_at is not None and enrollment.due_at <= datetime.now(UTC)


def test_one_open_cadence_per_contact_is_a_409_naming_it(client, key):
    fast, slow = published("Fast"), published("Slow")
    lead = mql(1)
    start(lead, fast)
    response = post(client, f"/api/v1/cadences/{slow.pk}/enroll/", key, {"contact": lead.pk})
    assert response.status_code == 409
    assert "Fast" in response.json()["error"]["message"]
    assert Enrollment.objects.filter(contact=lead).count() == 1


def test_a_key_makes_enrolling_idempotent(client, key):
    fast = published("Fast")
    lead = mql(1)
    url = f"/api/v1/cadences/{fast.pk}/enroll/"
    first = post(client, url, key, {"contact": lead.pk, "key": "crm-42"})
    again = post(client, url, key, {"contact": lead.pk, "key": "crm-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["enrolled"] is False
    assert again.json()["enrollment"]["id"] == first.json()["enrollment"]["id"]
    assert Enrollment.objects.filter(contact=lead).count() == 1


def test_enrolling_is_refused_with_a_clear_answer(client, key):
    fast = published("Fast")
    draft = cadence_save(cadence=None, name="Draft", steps=steps((0, "call")))
    paused = published("Paused")
    cadence_set_status(cadence=paused, status="paused")
    lead = mql(1)
    erased = mql(2, erased_at=datetime.now(UTC))
    cases = [
        (fast, {"contact": 10**12}, 400, "contact"),
        (fast, {"contact": lead.pk, "rep": 10**9}, 400, "rep"),
        (fast, {"contact": lead.pk, "key": "no spaces"}, 400, "key"),
        (fast, {"contact": lead.pk, "step": 3}, 400, "step"),
        (fast, {}, 400, "contact"),
        (fast, {"contact": erased.pk}, 409, "merged or erased"),
        (draft, {"contact": lead.pk}, 409, "Publish the cadence"),
        (paused, {"contact": lead.pk}, 409, "activate it"),
    ]
    for cadence, body, status, what in cases:
        response = post(client, f"/api/v1/cadences/{cadence.pk}/enroll/", key, body)
        assert response.status_code == status, (body, response.content)
        error = response.json()["error"]
        assert what in (error.get("fields") or {}) or what in error["message"], error
    assert not Enrollment.objects.exists()
    assert (
        post(client, "/api/v1/cadences/999999/enroll/", key, {"contact": lead.pk}).status_code
        == 404
    )


# --- Pause, resume, stop -----------------------------------------------------------------------


def test_pause_resume_and_stop_through_the_services(client, key):
    enrollment = start(mql(1), published("Fast"))
    url = f"/api/v1/enrollments/{enrollment.pk}/"
    paused = post(client, f"{url}pause/", key)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    again = post(client, f"{url}pause/", key)
    assert again.status_code == 409 and "active" in again.json()["error"]["message"]
    resumed = post(client, f"{url}resume/", key)
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert post(client, f"{url}resume/", key).status_code == 409
    stopped = post(client, f"{url}stop/", key, {"note": "asked us to stop calling"})
    assert stopped.status_code == 200
    assert (stopped.json()["status"], stopped.json()["outcome"]) == ("ended", "stopped")
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.ended_note) == ("ended", "asked us to stop calling")
    assert post(client, f"{url}stop/", key).status_code == 409
    assert post(client, f"{url}resume/", key).status_code == 409
    assert post(client, f"{url}stop/", key, {"note": "x" * 301}).status_code == 400


def test_stop_without_a_note_says_who(client, key, admin):
    enrollment = start(mql(1), published("Fast"))
    assert post(client, f"/api/v1/enrollments/{enrollment.pk}/stop/", key).status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.ended_note == f"stopped by {admin.get_username()}"


# --- Query counts ------------------------------------------------------------------------------


def test_lists_queries_do_not_grow_with_the_page(
    client, key, django_assert_max_num_queries, user_with_role
):
    reps = [Rep.objects.create(user=user_with_role(Role.REP)) for _ in range(3)]
    cadences = [published(f"C{i}") for i in range(30)]
    for i in range(30):
        start(mql(i), cadences[i], rep=reps[i % 3])
    get(client, "/api/v1/cadences/", key)  # the key's first use writes its last_used_at once
    for url in ("/api/v1/cadences/", "/api/v1/enrollments/"):
        counts = []
        for size in (2, 30):
            with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(8):
                page = get(client, url, key, {"page_size": size})
            assert len(page["results"]) == size
            counts.append(len(queries))
        assert counts[0] == counts[1], url
