"""The sales manager's cadence designer: who may open it; the list with its figures, its
empty state and the shipped cadences; the editor (steps added, moved and removed without
JavaScript, each error next to its step, edit conflicts); a cadence's page (publish, pause,
archive, enrolling by hand and from a segment, stopping and pausing leads); reps, teams and
the SLA; and the writes of cadences.services.setup. Lists read in a fixed number of queries."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from automations.models import MessageTemplate
from cadences import selectors_cadences
from cadences.models import Cadence, Enrollment, Rep, SlaPolicy, Team
from cadences.services.cadences import cadence_save
from cadences.services.enrollment import enrollment_start
from cadences.services.setup import rep_save, sla_policy_save, team_save
from growth.roles import Role
from leads.models import Segment, SegmentMembership
from tests.cadences.helpers import mql, published, rep, steps
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
E = Enrollment


@pytest.fixture
def manager(client_as):  # type: ignore[no-untyped-def]
    return client_as(Role.SALES_MANAGER)


def email_template(name: str = "Intro e-mail") -> MessageTemplate:
    return MessageTemplate.objects.create(name=name, channel="email", purpose="sales")


def sms_template(name: str = "Check-in SMS") -> MessageTemplate:
    return MessageTemplate.objects.create(name=name, channel="sms", purpose="sales")


def step_data(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The editor's POST for these rows: step-<n>-<field>, and the count."""
    data: dict[str, Any] = {"step_count": str(len(rows))}
    for n, row in enumerate(rows):
        values = {"window_from": "09:00", "window_until": "18:00", **row}
        for name, value in values.items():
            data[f"step-{n}-{name}"] = value
    return data


def cadence_post(rows: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "name": "Hot leads",
        "description": "",
        "sources": "",
        "countries": "",
        "assignment": "round_robin",
        "rank": "100",
        "weight": "100",
        "action": "save",
        **step_data(rows),
        **fields,
    }


def rows_of(html: str) -> list[str]:
    """The HTML of each step row, in order (not the script's blank row, in its <template>)."""
    return html.split("<template data-step-blank>")[0].split('data-testid="step-row"')[1:]


# --- Who may open the pages ---------------------------------------------------------------


def _urls(cadence: Cadence, the_rep: Rep, team: Team) -> list[tuple[str, str]]:
    pk = cadence.pk
    return [
        ("get", reverse("cadences")),
        ("get", reverse("cadence_new")),
        ("get", reverse("cadence_detail", args=[pk])),
        ("get", reverse("cadence_edit", args=[pk])),
        ("get", reverse("cadence_reps")),
        ("get", reverse("cadence_rep_new")),
        ("get", reverse("cadence_rep_edit", args=[the_rep.pk])),
        ("get", reverse("cadence_team_new")),
        ("get", reverse("cadence_team_edit", args=[team.pk])),
        ("get", reverse("cadence_sla")),
        ("post", reverse("cadence_install")),
        ("post", reverse("cadence_publish", args=[pk])),
        ("post", reverse("cadence_status", args=[pk])),
        ("post", reverse("cadence_enroll", args=[pk])),
        ("post", reverse("cadence_enroll_segment", args=[pk])),
        ("post", reverse("cadence_enrollment_action", args=[pk, 1])),
    ]


def test_every_page_opens_for_a_sales_manager(manager):
    cadence = published()
    the_rep = rep()
    for method, url in _urls(cadence, the_rep, the_rep.team):
        if method == "get":
            answer = manager.get(url)
            assert answer.status_code == 200, url
            assert b"<h1>" in answer.content, url


@pytest.mark.parametrize("role", [Role.REP, Role.MARKETER])
def test_reps_and_marketers_are_refused_every_page(client_as, role):
    cadence = published()
    the_rep = rep()
    signed_in = client_as(role)
    for method, url in _urls(cadence, the_rep, the_rep.team):
        assert getattr(signed_in, method)(url).status_code == 403, url
    cadence.refresh_from_db()
    assert (cadence.status, cadence.live.number) == ("active", 1)


def test_signed_out_visitors_are_sent_to_sign_in(client):
    cadence = published()
    the_rep = rep()
    for method, url in _urls(cadence, the_rep, the_rep.team):
        answer = getattr(client, method)(url)
        assert answer.status_code == 302 and "/login/" in answer["Location"], url


def test_unknown_and_malformed_numbers_are_not_found(manager):
    for url in (
        "/cadences/999999/",
        "/cadences/999999/edit/",
        "/cadences/99999999999999999999999/",
        "/cadences/abc/",
        "/cadences/reps/999999/edit/",
        "/cadences/teams/abc/edit/",
    ):
        assert manager.get(url).status_code == 404, url
    cadence = published()
    url = reverse("cadence_enrollment_action", args=[cadence.pk, 999999])
    assert manager.post(url, {"action": "stop"}).status_code == 404


# --- The list ------------------------------------------------------------------------------


def test_the_empty_list_explains_and_offers_the_shipped_cadences(manager):
    page = manager.get(reverse("cadences")).content.decode()
    assert "No cadence yet: start from a shipped one or design your own" in page
    for key in ("7-in-7", "9-in-18", "18-in-35", "won-lead"):
        assert f'data-shipped="{key}"' in page
        assert f'data-testid="install-{key}"' in page
        assert f'data-testid="install-publish-{key}"' in page


def test_installing_a_shipped_cadence_makes_a_draft_or_publishes_it(manager):
    answer = manager.post(reverse("cadence_install"), {"key": "9-in-18"})
    draft = Cadence.objects.get(name="9 touches in 18 days")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("cadence_detail", args=[draft.pk])
    assert (draft.status, draft.live_id, len(draft.draft_steps)) == ("draft", None, 9)

    manager.post(reverse("cadence_install"), {"key": "7-in-7", "publish": "on"})
    live = Cadence.objects.get(name="7 touches in 7 days")
    assert (live.status, live.live.number, live.live.steps.count()) == ("active", 1, 7)

    page = manager.get(reverse("cadences")).content.decode()
    assert 'data-shipped="7-in-7"' not in page and 'data-shipped="won-lead"' in page
    again = manager.post(reverse("cadence_install"), {"key": "7-in-7", "publish": "on"})
    assert again.status_code == 302 and Cadence.objects.count() == 2


def test_an_unknown_shipped_cadence_is_a_bad_request(manager):
    answer = manager.post(reverse("cadence_install"), {"key": "x" * 5000})
    assert answer.status_code == 400
    assert "There is no such shipped cadence" in answer.content.decode()
    assert not Cadence.objects.exists()


def test_the_list_shows_each_cadences_figures_and_filters_by_status(manager):
    fast = published("Fast", kinds=((0, "call"), (1, "call"), (2, "ghost_call")), rank=5)
    slow = published("Slow", weight=30)
    cadence_save(cadence=None, name="Someday", steps=steps((0, "call")))
    leads = [mql(n) for n in range(4)]
    for n, lead in enumerate(leads[:3]):
        enrollment_start(contact=lead, key=f"k{n}", cadence=fast, assign=False)
    enrollment_start(contact=leads[3], key="k3", cadence=slow, assign=False)
    E.objects.filter(contact__in=leads[:2]).update(status="ended", outcome="qualified")
    E.objects.filter(contact=leads[2]).update(status="ended", outcome="stopped")

    page = manager.get(reverse("cadences")).content.decode()
    row = page.split('data-cadence="Fast"')[1].split("</tr>")[0]
    assert "version 1" in row
    assert re.search(r'data-testid="steps">3<', row)
    assert re.search(r'data-testid="active">0<', row)
    assert re.search(r'data-testid="ended">3<', row)
    assert "67 %" in row  # two of three ended as SQL / meeting
    slow_row = page.split('data-cadence="Slow"')[1].split("</tr>")[0]
    assert re.search(r'data-testid="active">1<', slow_row) and "<td>30</td>" in slow_row
    assert "not published" in page.split('data-cadence="Someday"')[1].split("</tr>")[0]

    drafts = manager.get(reverse("cadences"), {"status": "draft"}).content.decode()
    assert 'data-cadence="Someday"' in drafts and 'data-cadence="Fast"' not in drafts
    archived = manager.get(reverse("cadences"), {"status": "archived"}).content.decode()
    assert "No cadence has this status." in archived
    nonsense = manager.get(reverse("cadences"), {"status": "<b>" * 100})
    assert nonsense.status_code == 200 and 'data-cadence="Fast"' in nonsense.content.decode()


def test_the_list_reads_in_the_same_queries_however_many_cadences(
    manager, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    published("First")
    enrollment_start(contact=mql(0), key="k0", cadence=Cadence.objects.get(), assign=False)
    manager.get(reverse("cadences"))  # sessions and permissions warmed up alike
    with CaptureQueriesContext(connection) as few:
        manager.get(reverse("cadences"))
    for n in range(8):
        cadence = published(f"More {n}")
        enrollment_start(contact=mql(n + 1), key=f"k{n + 1}", cadence=cadence, assign=False)
    with django_assert_max_num_queries(len(few.captured_queries)):
        answer = manager.get(reverse("cadences"))
    assert answer.content.decode().count('data-testid="cadence-row"') == 9
    with django_assert_max_num_queries(8):
        manager.get(reverse("cadences"))


# --- The editor ----------------------------------------------------------------------------


def test_a_cadence_with_steps_and_rules_is_created_through_the_form(manager):
    intro = email_template()
    persona = Segment.objects.create(name="Bargain hunter", kind="persona")
    segment = Segment.objects.create(name="Newsletter", kind="dynamic")
    team = Team.objects.create(name="Berlin", time_zone="Europe/Berlin")
    page = manager.get(reverse("cadence_new")).content.decode()
    assert len(rows_of(page)) == 1 and 'name="step_count" value="1"' in page
    assert 'data-channel="email"' in page and "Intro e-mail (e-mail)" in page

    answer = manager.post(
        reverse("cadence_new"),
        cadence_post(
            [
                {"day": "0", "kind": "call", "script": "Hi, it's Ana from the shop."},
                {"day": "0", "kind": "email_auto", "template": str(intro.pk)},
                {"day": "2", "kind": "sms_manual", "window_from": "10:00", "window_until": "12:30"},
            ],
            sources="google, Newsletter",
            countries="de, at",
            personas=[str(persona.pk)],
            segments=[str(segment.pk)],
            min_score="20",
            team=str(team.pk),
            assignment="territory",
            rank="10",
            weight="50",
        ),
    )
    cadence = Cadence.objects.get(name="Hot leads")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("cadence_detail", args=[cadence.pk])
    assert [(s["day"], s["kind"], s["template"]) for s in cadence.draft_steps] == [
        (0, "call", None),
        (0, "email_auto", intro.pk),
        (2, "sms_manual", None),
    ]
    assert cadence.draft_steps[0]["script"] == "Hi, it's Ana from the shop."
    assert (cadence.draft_steps[2]["from"], cadence.draft_steps[2]["until"]) == ("10:00", "12:30")
    assert cadence.rules == {
        "sources": ["google", "Newsletter"],
        "countries": ["DE", "AT"],
        "personas": [persona.pk],
        "segments": [segment.pk],
        "min_score": 20,
    }
    assert (cadence.assignment, cadence.team, cadence.rank, cadence.weight) == (
        "territory",
        team,
        10,
        50,
    )
    assert (cadence.status, cadence.live_id) == ("draft", None)

    detail = manager.get(answer["Location"]).content.decode()
    assert "Not published yet" in detail and 'data-testid="publish"' in detail
    assert "Intro e-mail" in detail and "in DE, AT" in detail and "Bargain hunter" in detail

    edit = manager.get(reverse("cadence_edit", args=[cadence.pk])).content.decode()
    assert len(rows_of(edit)) == 3 and 'value="google, Newsletter"' in edit
    assert f'name="version" value="{cadence.version}"' in edit


def test_steps_are_added_moved_and_removed_without_javascript(manager):
    base = cadence_post([{"day": "0", "kind": "call"}, {"day": "1", "kind": "ghost_call"}])

    added = manager.post(reverse("cadence_new"), {**base, "action": "add"})
    page = added.content.decode()
    assert added.status_code == 200 and not Cadence.objects.exists()
    assert len(rows_of(page)) == 3 and 'name="step_count" value="3"' in page
    assert 'name="step-2-day" value="1"' in page  # starts on the day of the step before
    assert "autofocus" in rows_of(page)[2] and "autofocus" not in rows_of(page)[1]
    assert "This field is required" not in page and 'value="Hot leads"' in page

    moved = manager.post(reverse("cadence_new"), {**base, "action": "up-1"}).content.decode()
    first, second = rows_of(moved)
    assert 'value="ghost_call" selected' in first and 'value="call" selected' in second

    removing = {**base, "step-0-remove": "on"}
    kept = manager.post(reverse("cadence_new"), {**removing, "action": "down-0"}).content.decode()
    assert 'name="step-1-remove" id="id_step-1-remove" checked' in kept  # kept until saved

    manager.post(reverse("cadence_new"), removing)
    assert [s["kind"] for s in Cadence.objects.get().draft_steps] == ["ghost_call"]


def test_an_empty_added_row_is_left_out_when_saving(manager):
    manager.post(
        reverse("cadence_new"),
        cadence_post([{"day": "0", "kind": "call"}, {"day": "", "kind": ""}]),
    )
    assert len(Cadence.objects.get().draft_steps) == 1


def test_each_step_error_is_shown_next_to_its_step(manager):
    sms = sms_template()
    answer = manager.post(
        reverse("cadence_new"),
        cadence_post(
            [
                {"day": "3", "kind": "call"},
                {"day": "1", "kind": "email_auto"},
                {"day": "4", "kind": "email_manual", "template": str(sms.pk)},
                {"day": "5", "kind": "call", "window_from": "18:00", "window_until": "09:00"},
                {"day": "400", "kind": "nonsense"},
            ]
        ),
    )
    page = answer.content.decode()
    assert answer.status_code == 200 and not Cadence.objects.exists()
    assert "Some fields need fixing" in page
    one, two, three, four, five = rows_of(page)
    assert 'class="error"' not in one
    assert 'data-testid="error-day"' in two and "Steps go in order" in two
    assert 'data-testid="error-template"' in two and "An automatic step sends a template" in two
    assert "This step needs an e-mail template" in three
    assert 'data-testid="error-window_until"' in four and "The window must end after" in four
    assert 'data-testid="error-kind"' in five
    assert 'value="400"' in five  # what was typed stays


def test_form_errors_and_service_errors_land_on_their_fields(manager):
    published("Taken")
    answer = manager.post(
        reverse("cadence_new"),
        cadence_post(
            [{"day": "0", "kind": "call"}],
            name="taken",
            countries="DE, Germany",
            weight="5000",
            rank="-1",
        ),
    )
    page = answer.content.decode()
    assert answer.status_code == 200
    assert "is not a country code" in page and 'data-testid="error-countries"' in page
    assert 'data-testid="error-rank"' in page
    answer = manager.post(
        reverse("cadence_new"), cadence_post([{"day": "0", "kind": "call"}], name="taken")
    )
    page = answer.content.decode()
    assert 'data-testid="error-name"' in page and "Another cadence has this name" in page
    answer = manager.post(
        reverse("cadence_new"), cadence_post([{"day": "x", "kind": "call"}], weight="5000")
    )
    assert "The day is a whole number from 0" in rows_of(answer.content.decode())[0]
    answer = manager.post(
        reverse("cadence_new"), cadence_post([{"day": "0", "kind": "call"}], weight="5000")
    )
    assert "The weight is from 1 to 1000." in answer.content.decode()
    answer = manager.post(reverse("cadence_new"), cadence_post([{"day": "", "kind": ""}]))
    assert "A cadence needs at least one step." in answer.content.decode()
    assert not Cadence.objects.filter(name="Hot leads").exists()


def test_bad_input_is_refused_without_a_server_error(manager):
    huge = "x" * 100_000
    answer = manager.post(
        reverse("cadence_new"),
        cadence_post(
            [{"day": "9" * 5000, "kind": huge, "template": huge, "script": huge}],
            name=huge,
            sources=huge,
            min_score="1e400",
            personas=["999999", "abc"],
            team="abc",
        ),
    )
    assert answer.status_code == 200 and not Cadence.objects.exists()
    assert "Ensure this value has at most 120 characters" in answer.content.decode()
    for count in ("", "abc", "-1", "100000"):
        malformed = manager.post(reverse("cadence_new"), {**cadence_post([]), "step_count": count})
        assert malformed.status_code == 400
        assert "The steps could not be read" in malformed.content.decode()
    unknown = manager.post(reverse("cadence_new"), {**cadence_post([]), "action": "explode"})
    assert unknown.status_code == 400
    cadence = published()
    no_version = manager.post(
        reverse("cadence_edit", args=[cadence.pk]), cadence_post([{"day": "0", "kind": "call"}])
    )
    assert no_version.status_code == 400


def test_an_edit_conflict_shows_their_version_and_keeps_what_was_typed(manager):
    cadence = published("Fast")
    url = reverse("cadence_edit", args=[cadence.pk])
    opened = cadence.version
    cadence_save(  # a colleague saves first
        cadence=cadence,
        name="Fast (colleague)",
        steps=steps((0, "call"), (2, "ghost_call")),
        version=opened,
    )
    mine = cadence_post(
        [{"day": "0", "kind": "call"}, {"day": "1", "kind": "sms_manual"}],
        name="Fast, my way",
        version=str(opened),
    )
    answer = manager.post(url, mine)
    page = answer.content.decode()
    assert answer.status_code == 409
    assert 'data-testid="conflict"' in page and "Fast (colleague)" in page
    assert "Ghost call (no voicemail)" in page.split('data-testid="conflict"')[1].split("</ol>")[0]
    assert 'value="Fast, my way"' in page and 'value="sms_manual" selected' in page
    cadence.refresh_from_db()
    assert cadence.name == "Fast (colleague)"
    assert f'name="version" value="{cadence.version}"' in page

    again = manager.post(url, {**mine, "version": str(cadence.version)})
    assert again.status_code == 302
    cadence.refresh_from_db()
    assert cadence.name == "Fast, my way"
    assert [s["kind"] for s in cadence.draft_steps] == ["call", "sms_manual"]


# --- One cadence ---------------------------------------------------------------------------


def test_publish_pause_activate_and_archive(manager):
    cadence = cadence_save(cadence=None, name="Fresh", steps=steps((0, "call"), (1, "call")))
    detail = reverse("cadence_detail", args=[cadence.pk])
    status = reverse("cadence_status", args=[cadence.pk])

    refused = manager.post(status, {"status": "active"}, follow=True)
    assert "Publish the cadence before activating it." in refused.content.decode()
    manager.post(reverse("cadence_publish", args=[cadence.pk]))
    cadence.refresh_from_db()
    assert (cadence.status, cadence.live.number, cadence.live.published_by.groups.get().name) == (
        "active",
        1,
        "sales_manager",
    )
    page = manager.get(detail).content.decode()
    assert 'data-testid="publish"' not in page and 'data-testid="live-step"' in page
    assert page.count('data-testid="live-step"') == 2 and 'data-testid="versions"' in page
    same = manager.post(reverse("cadence_publish", args=[cadence.pk]), follow=True)
    assert "Nothing to publish" in same.content.decode() and cadence.versions.count() == 1

    paused = manager.post(status, {"status": "paused"}, follow=True).content.decode()
    cadence.refresh_from_db()
    assert cadence.status == "paused" and "is paused: no new MQLs enter it" in paused
    assert 'data-testid="activate"' in paused
    manager.post(status, {"status": "active"})
    manager.post(status, {"status": "archived"})
    cadence.refresh_from_db()
    assert cadence.status == "archived"
    assert manager.post(status, {"status": "draft"}).status_code == 400
    assert manager.post(status, {"status": "x" * 10_000}).status_code == 400


def test_an_edited_draft_is_published_as_the_next_version(manager):
    cadence = published("Fast")
    cadence_save(
        cadence=cadence, name="Fast", steps=steps((0, "call"), (3, "social")), version=None
    )
    page = manager.get(reverse("cadence_detail", args=[cadence.pk])).content.decode()
    assert "The draft has changes that are not published" in page
    assert "Other social touch" in page.split('data-testid="draft"')[1]
    manager.post(reverse("cadence_publish", args=[cadence.pk]))
    cadence.refresh_from_db()
    assert cadence.live.number == 2 and cadence.live.steps.count() == 2


def test_a_contact_is_enrolled_by_hand_by_number_or_e_mail(manager):
    cadence = published("Fast")
    other = published("Other")
    anna = rep()
    lead = mql(1, email="Lead.One@Example.com")
    url = reverse("cadence_enroll", args=[cadence.pk])

    answer = manager.post(url, {"contact": str(lead.pk), "rep": str(anna.pk)})
    assert answer.status_code == 302
    enrollment = E.objects.get(contact=lead)
    assert (enrollment.cadence, enrollment.rep, enrollment.status) == (cadence, anna, "active")
    assert enrollment.key.startswith(f"manual:{cadence.pk}:{lead.pk}:")
    page = manager.get(reverse("cadence_detail", args=[cadence.pk])).content.decode()
    assert f'data-contact="{lead.pk}"' in page and "is on “Fast”" in page

    already = manager.post(
        reverse("cadence_enroll", args=[other.pk]), {"contact": "lead.one@example.com"}
    )
    assert already.status_code == 200
    assert "is already on the cadence “Fast”" in already.content.decode()
    assert E.objects.count() == 1

    for query in ("nobody@example.com", "99999999", "9" * 300, ""):
        missing = manager.post(url, {"contact": query})
        assert (
            missing.status_code == 200 and 'data-testid="error-contact"' in missing.content.decode()
        )
    bad_rep = manager.post(url, {"contact": str(mql(2).pk), "rep": "abc"})
    assert 'data-testid="error-rep"' in bad_rep.content.decode()

    draft = cadence_save(cadence=None, name="Draft", steps=steps((0, "call")))
    refused = manager.post(reverse("cadence_enroll", args=[draft.pk]), {"contact": str(lead.pk)})
    assert "Publish the cadence before enrolling leads." in refused.content.decode()


def test_a_segment_is_enrolled_in_bulk(manager):
    cadence = published("Fast")
    segment = Segment.objects.create(name="Hot list", kind="static")
    members = [mql(n) for n in range(3)]
    now = timezone.now()
    for contact in members:
        SegmentMembership.objects.create(segment=segment, contact=contact, entered_at=now)
    enrollment_start(contact=members[0], key="before", cadence=published("Other"), assign=False)

    answer = manager.post(
        reverse("cadence_enroll_segment", args=[cadence.pk]),
        {"segment": str(segment.pk)},
        follow=True,
    )
    assert "2 leads from “Hot list” enrolled" in answer.content.decode()
    assert E.objects.filter(cadence=cadence).count() == 2
    wrong = manager.post(reverse("cadence_enroll_segment", args=[cadence.pk]), {"segment": "abc"})
    assert wrong.status_code == 200 and 'data-testid="error-segment"' in wrong.content.decode()


def test_leads_are_paused_resumed_and_stopped_from_the_cadence_page(manager):
    cadence = published("Fast")
    lead = mql(1)
    enrollment = enrollment_start(contact=lead, key="k", cadence=cadence, assign=False)
    assert enrollment is not None
    url = reverse("cadence_enrollment_action", args=[cadence.pk, enrollment.pk])

    answer = manager.post(url, {"action": "pause", "back": "status=active&evil=1"})
    assert (
        answer["Location"]
        == reverse("cadence_detail", args=[cadence.pk]) + "?status=active#enrollments"
    )
    enrollment.refresh_from_db()
    assert enrollment.status == "paused"
    manager.post(url, {"action": "resume"})
    enrollment.refresh_from_db()
    assert enrollment.status == "active"
    manager.post(url, {"action": "stop"})
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.outcome) == ("ended", "stopped")
    assert enrollment.ended_note.startswith("stopped by ")
    twice = manager.post(url, {"action": "stop"}, follow=True)
    assert "has ended already" in twice.content.decode()
    assert manager.post(url, {"action": "explode"}).status_code == 400

    elsewhere = published("Other")
    foreign = reverse("cadence_enrollment_action", args=[elsewhere.pk, enrollment.pk])
    assert manager.post(foreign, {"action": "stop"}).status_code == 404


def test_enrollments_are_filtered_and_paged(manager, monkeypatch):
    cadence = published("Fast")
    anna, ben = rep(), rep()
    leads = [mql(n) for n in range(5)]
    for n, lead in enumerate(leads):
        enrollment_start(
            contact=lead, key=f"k{n}", cadence=cadence, rep=anna if n % 2 else ben, assign=True
        )
    E.objects.filter(contact=leads[0]).update(status="ended", outcome="qualified")
    detail = reverse("cadence_detail", args=[cadence.pk])

    def shown(**query: str) -> list[int]:
        page = manager.get(detail, query).content.decode()
        return [
            int(n) for n in re.findall(r'data-testid="enrollment-row" data-contact="(\d+)"', page)
        ]

    assert shown() == [c.pk for c in reversed(leads)]
    assert shown(rep=str(anna.pk)) == [leads[3].pk, leads[1].pk]
    assert shown(outcome="qualified") == [leads[0].pk]
    assert shown(status="active", rep=str(ben.pk)) == [leads[4].pk, leads[2].pk]
    assert shown(rep="pool") == []
    assert shown(rep="abc", status="<script>", before="x") == [c.pk for c in reversed(leads)]

    monkeypatch.setattr(selectors_cadences, "ENROLLMENT_PAGE", 2)
    first = manager.get(detail).content.decode()
    older = re.search(r'href="\?([^"]*)#enrollments" data-testid="older"', first)
    assert older is not None
    query = dict(part.split("=") for part in older.group(1).replace("&amp;", "&").split("&"))
    assert shown(**query) == [leads[2].pk, leads[1].pk]


def test_the_cadence_page_reads_in_the_same_queries_however_many_leads(
    manager, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cadence = published("Fast")
    enrollment_start(contact=mql(0), key="k0", cadence=cadence, rep=rep())
    url = reverse("cadence_detail", args=[cadence.pk])
    manager.get(url)
    with CaptureQueriesContext(connection) as few:
        manager.get(url)
    for n in range(1, 8):
        enrollment_start(contact=mql(n), key=f"k{n}", cadence=cadence, rep=rep())
    with django_assert_max_num_queries(len(few.captured_queries)):
        manager.get(url)


# --- Reps, teams and the SLA ---------------------------------------------------------------


def test_a_user_with_the_rep_role_is_made_a_rep_and_edited(manager, user_with_role):
    candidate = user_with_role(Role.REP, first_name="Rita", last_name="Rep")
    marketer = user_with_role(Role.MARKETER)
    team = Team.objects.create(name="Berlin", time_zone="Europe/Berlin")
    form = manager.get(reverse("cadence_rep_new")).content.decode()
    assert f'value="{candidate.pk}"' in form and f'value="{marketer.pk}"' not in form

    refused = manager.post(
        reverse("cadence_rep_new"),
        {
            "user": str(marketer.pk),
            "works_from": "09:00",
            "works_until": "17:00",
            "work_days": ["0"],
            "capacity": "50",
        },
    )
    assert refused.status_code == 200 and 'data-testid="error-user"' in refused.content.decode()

    answer = manager.post(
        reverse("cadence_rep_new"),
        {
            "user": str(candidate.pk),
            "team": str(team.pk),
            "territory": "de, at",
            "works_from": "08:00",
            "works_until": "16:30",
            "work_days": ["0", "1", "2", "3"],
            "capacity": "80",
        },
    )
    assert answer.status_code == 302 and answer["Location"] == reverse("cadence_reps")
    made = Rep.objects.get(user=candidate)
    assert (made.team, made.territory, made.work_days, made.capacity, made.away) == (
        team,
        ["DE", "AT"],
        [0, 1, 2, 3],
        80,
        False,
    )
    assert (made.works_from, made.works_until) == (time(8), time(16, 30))
    enrollment_start(contact=mql(1), key="k", cadence=published(), rep=made)
    listing = manager.get(reverse("cadence_reps")).content.decode()
    row = listing.split(f'data-rep="{candidate.username}"')[1].split("</tr>")[0]
    assert "Rita Rep" in row and "DE, AT" in row and "08:00\u201316:30" in row
    assert "Mon, Tue, Wed, Thu" in row and re.search(r'data-testid="load">1 / 80', row)

    edit = reverse("cadence_rep_edit", args=[made.pk])
    wrong = manager.post(
        edit,
        {
            "works_from": "18:00",
            "works_until": "09:00",
            "work_days": [],
            "capacity": "0",
            "territory": "Germany",
        },
    )
    page = wrong.content.decode()
    assert wrong.status_code == 200
    for field in ("error-works_until", "error-work_days", "error-territory"):
        assert f'data-testid="{field}"' in page, field
    manager.post(
        edit,
        {
            "works_from": "09:00",
            "works_until": "17:00",
            "work_days": ["0"],
            "capacity": "10",
            "away": "on",
        },
    )
    made.refresh_from_db()
    assert (made.away, made.capacity, made.team) == (True, 10, None)
    assert (
        manager.get(reverse("cadence_rep_new"))
        .content.decode()
        .count('data-testid="no-candidates"')
        == 1
    )


def test_teams_are_created_and_their_time_zone_checked(manager):
    data = {
        "name": "Lisbon",
        "time_zone": "Europe/Lisboa",
        "opens": "09:00",
        "closes": "18:00",
        "days": ["0", "1"],
    }
    wrong = manager.post(reverse("cadence_team_new"), data)
    assert wrong.status_code == 200 and "is not a time zone" in wrong.content.decode()
    for zone in ("../../etc/passwd", "x" * 500, ""):
        assert (
            manager.post(reverse("cadence_team_new"), {**data, "time_zone": zone}).status_code
            == 200
        )
    assert not Team.objects.exists()
    manager.post(reverse("cadence_team_new"), {**data, "time_zone": "Europe/Lisbon"})
    team = Team.objects.get()
    assert (team.time_zone, team.days) == ("Europe/Lisbon", [0, 1])
    manager.post(
        reverse("cadence_team_edit", args=[team.pk]),
        {
            **data,
            "time_zone": "Europe/Lisbon",
            "opens": "10:00",
            "closes": "19:00",
            "days": ["0", "1", "2"],
        },
    )
    team.refresh_from_db()
    assert (team.opens, team.closes, team.days) == (time(10), time(19), [0, 1, 2])
    duplicate = manager.post(
        reverse("cadence_team_new"), {**data, "name": "LISBON", "time_zone": "UTC"}
    )
    assert "Another team has this name." in duplicate.content.decode()


def test_the_sla_is_changed_within_its_bounds(manager):
    url = reverse("cadence_sla")
    page = manager.get(url).content.decode()
    assert 'name="first_touch_minutes" value="30"' in page
    assert not SlaPolicy.objects.exists()  # a GET writes nothing
    for first, remind, lease, field in (
        ("0", "0", "10", "first_touch_minutes"),
        ("2000", "0", "10", "first_touch_minutes"),
        ("abc", "0", "10", "first_touch_minutes"),
        ("30", "30", "10", "remind_before_minutes"),
        ("30", "5", "0", "lease_minutes"),
        ("30", "5", "9" * 50, "lease_minutes"),
    ):
        answer = manager.post(
            url,
            {
                "first_touch_minutes": first,
                "remind_before_minutes": remind,
                "lease_minutes": lease,
                "new_lead_hours": "24",
                "then_by": "overdue",
            },
        )
        assert (
            answer.status_code == 200 and f'data-testid="error-{field}"' in answer.content.decode()
        ), (first, remind, lease)
    assert not SlaPolicy.objects.exists()
    queue_rules = {"new_leads_first": "on", "new_lead_hours": "12", "then_by": "score"}
    refused = manager.post(
        url,
        {
            "first_touch_minutes": "15",
            "remind_before_minutes": "5",
            "lease_minutes": "7",
            **queue_rules,
            "then_by": "alphabet",
        },
    )
    assert 'data-testid="error-then_by"' in refused.content.decode()
    saved = manager.post(
        url,
        {
            "first_touch_minutes": "15",
            "remind_before_minutes": "5",
            "lease_minutes": "7",
            **queue_rules,
        },
    )
    assert saved.status_code == 302
    policy = SlaPolicy.objects.get()
    assert (
        policy.first_touch_minutes,
        policy.remind_before_minutes,
        policy.reassign,
        policy.lease_minutes,
        policy.new_leads_first,
        policy.new_lead_hours,
        policy.then_by,
    ) == (15, 5, False, 7, True, 12, "score")


# --- cadences.services.setup ---------------------------------------------------------------


def test_rep_save_takes_only_users_with_the_rep_role(user_with_role):
    seller = user_with_role(Role.REP)
    with pytest.raises(ValidationError) as refused:
        rep_save(
            rep=None, user=user_with_role(Role.MARKETER), works_from=time(9), works_until=time(17)
        )
    assert set(refused.value.message_dict) == {"user"}
    made = rep_save(
        rep=None, user=seller, works_from=time(9), works_until=time(17), territory=["fr"]
    )
    assert made.territory == ["FR"] and made.work_days == [0, 1, 2, 3, 4]
    with pytest.raises(ValidationError) as twice:
        rep_save(rep=None, user=seller, works_from=time(9), works_until=time(17))
    assert "a rep already" in str(twice.value)
    with pytest.raises(ValidationError) as wrong:
        rep_save(rep=made, works_from=time(9), works_until=time(17), capacity=0, work_days=[7])
    assert set(wrong.value.message_dict) == {"capacity", "work_days"}
    inactive = UserFactory(roles=[Role.REP], is_active=False)
    with pytest.raises(ValidationError):
        rep_save(rep=None, user=inactive, works_from=time(9), works_until=time(17))


def test_team_save_and_sla_policy_save_validate_every_field():
    with pytest.raises(ValidationError) as wrong:
        team_save(
            team=None, name=" ", time_zone="Mars/Olympus", opens=time(18), closes=time(9), days=[]
        )
    assert set(wrong.value.message_dict) == {"name", "time_zone", "closes", "days"}
    team = team_save(
        team=None,
        name="Tokyo",
        time_zone="Asia/Tokyo",
        opens=time(9),
        closes=time(18),
        days=["5", 0, 0],
    )
    assert team.days == [0, 5]
    with pytest.raises(ValidationError) as wrong_sla:
        sla_policy_save(
            first_touch_minutes=True, remind_before_minutes=-1, reassign=True, lease_minutes=121
        )
    assert set(wrong_sla.value.message_dict) == {
        "first_touch_minutes",
        "remind_before_minutes",
        "lease_minutes",
    }
    policy = sla_policy_save(
        first_touch_minutes=1440, remind_before_minutes=0, reassign=True, lease_minutes=120
    )
    assert (policy.pk, policy.first_touch_minutes) == (1, 1440)
