"""The queue page: a rep sees one lead, records a disposition, gets the next (htmx);
others' leads are never shown; bad input is a clear 400, never a 500."""

from __future__ import annotations

import re

import pytest

from automations.models import Delivery, TemplateContent
from cadences.models import Enrollment, Skip, Touch
from cadences.services.cadences import shipped_cadence_install
from cadences.services.enrollment import enrollment_start
from growth.roles import Role
from leads.models import StageChange
from leads.models.quality import LeadRating
from tests.cadences.helpers import mql, published
from tests.leads.factories import EventFactory

pytestmark = pytest.mark.django_db
E = Enrollment


@pytest.fixture
def rep_client(client, user_with_role):  # type: ignore[no-untyped-def]
    user = user_with_role(Role.REP)
    client.force_login(user)
    client.user = user
    return client


def enroll(n: int, cadence, **fields):  # type: ignore[no-untyped-def]
    return enrollment_start(contact=mql(n, **fields), key=f"k{n}", cadence=cadence, assign=False)


def key_of(html: str) -> str:
    return re.search(r'name="key" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]


def test_anonymous_visitors_are_sent_to_sign_in():
    from django.test import Client

    assert Client().get("/queue/").status_code == 302


def test_only_reps_and_sales_managers_work_the_queue(client_as):
    assert client_as(Role.MARKETER).get("/queue/").status_code == 403
    assert client_as(Role.SALES_MANAGER).get("/queue/").status_code == 200


def test_an_empty_queue_says_what_will_appear(rep_client):
    page = rep_client.get("/queue/").content.decode()
    assert 'data-testid="queue-empty"' in page and "every 10 seconds" in page


def test_a_rep_works_a_lead_and_the_next_appears_without_a_reload(rep_client):
    cadence = published()
    enroll(1, cadence, first_name="Ada")
    enroll(2, cadence, first_name="Bo")
    page = rep_client.get("/queue/").content.decode()
    shown = re.search(r'data-enrollment="(\d+)"', page).group(1)  # type: ignore[union-attr]
    assert 'href="tel:' in page and "new MQL" in page
    answer = rep_client.post(
        "/queue/touch",
        {
            "enrollment": shown,
            "key": key_of(page),
            "disposition": "voicemail",
            "notes": "Back Monday",
        },
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "Recorded: left voicemail" in body and "<html" not in body  # a partial: no reload
    assert f'data-enrollment="{shown}"' not in body
    touch = Touch.objects.get()
    assert (touch.disposition, touch.notes, touch.rep.user) == (
        "voicemail",
        "Back Monday",
        rep_client.user,
    )


def test_a_double_submit_records_one_touch(rep_client):
    cadence = published()
    enroll(1, cadence)
    page = rep_client.get("/queue/").content.decode()
    shown = re.search(r'data-enrollment="(\d+)"', page).group(1)  # type: ignore[union-attr]
    form = {"enrollment": shown, "key": key_of(page), "disposition": "no_answer"}
    rep_client.post("/queue/touch", form)
    rep_client.post("/queue/touch", form)
    assert Touch.objects.count() == 1 and E.objects.get().attempts == 1


def test_a_bad_lead_needs_a_reason_and_is_rated_for_marketing(rep_client):
    cadence = published()
    enroll(1, cadence)
    page = rep_client.get("/queue/").content.decode()
    shown = re.search(r'data-enrollment="(\d+)"', page).group(1)  # type: ignore[union-attr]
    refused = rep_client.post(
        "/queue/touch",
        {"enrollment": shown, "key": key_of(page), "disposition": "bad_lead"},
        HTTP_HX_REQUEST="true",
    )
    assert refused.status_code == 400 and "marketing learns" in refused.content.decode()
    rep_client.post(
        "/queue/touch",
        {
            "enrollment": shown,
            "key": key_of(page),
            "disposition": "bad_lead",
            "bad_reason": "competitor",
        },
    )
    rating = LeadRating.objects.get()
    assert (rating.verdict, rating.reason) == ("bad", "competitor")
    assert E.objects.get().outcome == E.Outcome.BAD_LEAD


def manual_email_cadence():  # type: ignore[no-untyped-def]
    """A cadence whose first step is a manual e-mail from a shipped template, and the template."""
    template = next(
        s["template"] for s in shipped_cadence_install(key="7-in-7").draft_steps if s["template"]
    )
    cadence = published("Manual", kinds=((0, "email_manual"), (2, "call")), template=None)
    cadence.live.steps.filter(position=1).update(template_id=template)
    return cadence, template


def test_a_manual_email_is_composed_from_the_template_and_sent_through_growth(rep_client):
    cadence, template = manual_email_cadence()
    enroll(1, cadence, first_name="Ada")
    page = rep_client.get("/queue/").content.decode()
    assert 'data-testid="queue-compose"' in page and "Ada" in page
    shown = re.search(r'data-enrollment="(\d+)"', page).group(1)  # type: ignore[union-attr]
    rep_client.post(
        "/queue/touch",
        {
            "enrollment": shown,
            "key": key_of(page) + "-send",
            "send": "1",
            "channel": "email",
            "subject": "Hello Ada",
            "text": "Edited by the rep",
            "template": template,
        },
    )
    delivery = Delivery.objects.get()
    assert (delivery.purpose, delivery.subject, delivery.body_text) == (
        "sales",
        "Hello Ada",
        "Edited by the rep",
    )
    touch = Touch.objects.get()
    assert touch.disposition == "sent" and touch.delivery == delivery
    assert E.objects.get().step == 2


def test_a_skip_needs_a_reason_and_is_counted(rep_client):
    cadence = published()
    enroll(1, cadence)
    page = rep_client.get("/queue/").content.decode()
    shown = re.search(r'data-enrollment="(\d+)"', page).group(1)  # type: ignore[union-attr]
    assert (
        rep_client.post(
            "/queue/skip", {"enrollment": shown, "reason": ""}, HTTP_HX_REQUEST="true"
        ).status_code
        == 400
    )
    rep_client.post("/queue/skip", {"enrollment": shown, "reason": "Duplicate of another lead"})
    assert Skip.objects.get().reason == "Duplicate of another lead"


def test_a_rep_cannot_record_on_another_rep_s_lead(rep_client):
    from tests.cadences.helpers import rep

    cadence = published()
    theirs = enrollment_start(contact=mql(1), key="k", cadence=cadence, rep=rep())
    answer = rep_client.post(
        "/queue/touch",
        {"enrollment": theirs.pk, "key": "x" * 10, "disposition": "connected"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 400 and "another rep" in answer.content.decode()
    assert not Touch.objects.exists()


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"enrollment": "abc", "key": "k", "disposition": "connected"},
        {"enrollment": "99999999", "key": "k", "disposition": "nonsense"},
        {"enrollment": "1", "key": "k" * 500, "disposition": "connected"},
        {"enrollment": "99999999", "key": "k", "disposition": "connected"},
    ],
)
def test_bad_input_is_a_clear_400(rep_client, form):
    answer = rep_client.post("/queue/touch", form, HTTP_HX_REQUEST="true")
    assert answer.status_code == 400 and 'data-testid="queue-errors"' in answer.content.decode()


def _work(rep_client, page: str, disposition: str = "no_answer") -> str:  # type: ignore[no-untyped-def]
    shown = re.search(r'data-enrollment="(\d+)"', page).group(1)  # type: ignore[union-attr]
    answer = rep_client.post(
        "/queue/touch",
        {"enrollment": shown, "key": key_of(page), "disposition": disposition},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    return str(answer.content.decode())


def test_the_next_card_costs_the_same_queries_however_long_the_lead_s_history(
    rep_client, django_assert_num_queries
):
    """Session, user, 2 x permissions, rep, submit key; the touch in one transaction (begin,
    the lead, the touch, the lead moved on, commit); the claim (policy, claim, the lead);
    the card (touches, timeline: heads and the events on it, why, the MQL move, the count).
    Six fewer than before: the steps of a published version are read once per process
    (cadences.published), the primary model inside the "why" query, and the card's timeline
    leaves out the touches it lists above it."""
    cadence = published(kinds=((0, "call"), (0, "call"), (0, "call")))
    quiet, busy, third, fourth = (enroll(n, cadence) for n in (1, 2, 3, 4))
    for lead, events in ((quiet, 1), (busy, 1), (third, 30), (fourth, 1)):
        for n in range(events):  # the same kinds of history, one of them long
            EventFactory(contact=lead.contact, name="Product Viewed", properties={"n": n})
    page = rep_client.get("/queue/").content.decode()
    assert f'data-contact="{quiet.contact_id}"' in page
    page = _work(rep_client, page)  # warms the cache of the version's steps
    assert f'data-contact="{busy.contact_id}"' in page
    with django_assert_num_queries(20):
        page = _work(rep_client, page)
    assert f'data-contact="{third.contact_id}"' in page
    with django_assert_num_queries(20):
        page = _work(rep_client, page)
    assert f'data-contact="{fourth.contact_id}"' in page


def test_a_step_s_template_edited_after_publishing_composes_the_next_card(rep_client):
    """The steps are cached; their template is not: the rep composes from what it says now."""
    cadence, template = manual_email_cadence()
    enroll(1, cadence, first_name="Ada")
    enroll(2, cadence, first_name="Bo")
    page = rep_client.get("/queue/").content.decode()
    assert 'data-testid="queue-compose"' in page and "A fresh subject" not in page
    TemplateContent.objects.filter(template_id=template).update(subject="A fresh subject")
    page = _work(rep_client, page)
    assert 'data-testid="queue-compose"' in page and "A fresh subject" in page


def test_the_card_s_recent_activity_says_what_happened(rep_client):
    """Events by name, stage moves as from → to: not the timeline's internal kind names."""
    cadence = published()
    lead = enroll(1, cadence, first_name="Ada")
    EventFactory(contact=lead.contact, name="Product Viewed", properties={"title": "Down Parka"})
    StageChange.objects.create(
        contact=lead.contact, from_stage="lead", to_stage="mql", cause_kind="rule"
    )
    page = rep_client.get("/queue/").content.decode()
    activity = page.split("Recent activity")[1]
    assert "<strong>Product Viewed</strong>: Down Parka" in activity
    assert "Lead → MQL" in activity
    assert "· events" not in activity and "· stages" not in activity
