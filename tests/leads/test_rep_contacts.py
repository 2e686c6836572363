"""A sales rep (no contact list, only the queue) opens the pages of the contacts assigned to
it: those of its own cadence enrollments, current or ended, and a pool lead while it is
leased to it. Anyone else's contact is a 404; what its role may not do is neither shown nor
accepted. "My contacts" lists them, searchable, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from cadences.models import Cadence, Enrollment, Rep
from cadences.services.enrollment import enrollment_start
from growth.roles import Role
from leads.models import Contact, LeadRating, Note
from tests.cadences.helpers import mql, published
from tests.leads.factories import ContactFactory
from tests.leads.test_contact_pages import busy_contact  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(user_with_role) -> Any:  # type: ignore[no-untyped-def]
    user = user_with_role(Role.REP, first_name="Rita")
    user.rep = Rep.objects.create(user=user)
    return user


@pytest.fixture
def mine(client, me) -> Any:  # type: ignore[no-untyped-def]
    """A client signed in as the rep."""
    client.force_login(me)
    return client


def enroll(contact: Contact, rep: Rep | None, key: str = "", **fields: Any) -> Enrollment:
    cadence = Cadence.objects.filter(name="Fast").first() or published("Fast")
    enrollment = enrollment_start(
        contact=contact, key=key or f"k{contact.pk}", cadence=cadence, rep=rep, assign=False
    )
    assert enrollment is not None
    if fields:
        Enrollment.objects.filter(pk=enrollment.pk).update(**fields)
    return enrollment


def other_rep(user_with_role) -> Rep:  # type: ignore[no-untyped-def]
    return Rep.objects.create(user=user_with_role(Role.REP))


def detail(contact: Contact) -> str:
    return reverse("contact_detail", args=[contact.pk])


# --- Which contacts are the rep's -------------------------------------------------------------


def test_the_rep_opens_its_lead_and_gets_404_for_another_reps(mine, me, user_with_role):
    own, theirs = mql(1, first_name="Own"), mql(2, first_name="Zebedee")
    enroll(own, me.rep)
    enroll(theirs, other_rep(user_with_role))
    page = mine.get(detail(own))
    assert page.status_code == 200 and "Own" in page.content.decode()
    foreign = mine.get(detail(theirs))
    assert foreign.status_code == 404 and b"Zebedee" not in foreign.content
    # Indistinguishable from a contact that does not exist: ids cannot be probed.
    assert mine.get(reverse("contact_detail", args=[999_999])).status_code == 404
    # Nobody's lead (never enrolled) is not the rep's either.
    assert mine.get(detail(ContactFactory())).status_code == 404


def test_an_ended_enrollment_keeps_the_contact_the_reps(mine, me):
    """A rep who booked the meeting or judged the lead still follows it up: rates it, moves
    it on to opportunity, reads what happened since."""
    lead = mql(1)
    enroll(lead, me.rep, status=Enrollment.Status.ENDED, outcome=Enrollment.Outcome.QUALIFIED)
    assert mine.get(detail(lead)).status_code == 200


def test_a_reassigned_lead_is_the_new_reps_alone(mine, me, user_with_role):
    lead = mql(1)
    enrollment = enroll(lead, me.rep)
    assert mine.get(detail(lead)).status_code == 200
    Enrollment.objects.filter(pk=enrollment.pk).update(rep=other_rep(user_with_role))
    assert mine.get(detail(lead)).status_code == 404


def test_a_pool_lead_is_the_reps_while_leased_to_it(mine, me):
    lead = mql(1)
    now = timezone.now()
    enrollment = enroll(lead, None, leased_to=me.rep, lease_until=now + timedelta(minutes=5))
    assert mine.get(detail(lead)).status_code == 200
    Enrollment.objects.filter(pk=enrollment.pk).update(lease_until=now - timedelta(seconds=1))
    assert mine.get(detail(lead)).status_code == 404


def test_a_user_without_a_role_is_told_which_role_opens_contacts(client, user_with_role):
    client.force_login(user_with_role())
    answer = client.get(detail(ContactFactory()))
    assert answer.status_code == 403 and "This page needs the" in answer.content.decode()


# --- What the rep's contact page shows and accepts --------------------------------------------


def test_the_page_shows_the_record_and_only_the_reps_actions(mine, me):
    lead = mql(1, first_name="Ada")
    enroll(lead, me.rep)
    html = mine.get(detail(lead)).content.decode()
    assert 'data-testid="contact-name">Ada' in html
    # The panels load from the page; each answers the rep for its own lead.
    for name in ("contact_score_panel", "contact_segments", "contact_sales_panel"):
        url = reverse(name, args=[lead.pk])
        assert url in html
        assert mine.get(url).status_code == 200, name
    assert reverse("contact_messaging_panel", args=[lead.pk]) in html
    # Its actions: move the stage, mark the lead's quality, add a note; back to its list.
    for present in ('id="stage-panel"', 'data-testid="quality-form"', 'data-testid="note-form"'):
        assert present in html, present
    assert f'href="{reverse("my_contacts")}"' in html
    # Not its actions: merge, export, erase, the contact list and its export, static lists.
    for absent in (
        'data-testid="data-actions"',
        reverse("contact_merge", args=[lead.pk]),
        reverse("contact_export_json", args=[lead.pk]),
        reverse("contact_erase", args=[lead.pk]),
        f'href="{reverse("contacts")}"',
        reverse("contacts_export"),
    ):
        assert absent not in html, absent
    segments = mine.get(reverse("contact_segments", args=[lead.pk])).content.decode()
    assert 'data-testid="add-to-list"' not in segments
    sales = mine.get(reverse("contact_sales_panel", args=[lead.pk])).content.decode()
    assert 'data-testid="contact-enroll"' not in sales


def test_what_the_rep_may_not_do_is_refused_on_its_own_lead(mine, me):
    lead = mql(1)
    enroll(lead, me.rep)
    other = mql(2)
    posts = {
        "contact_merge": {"other": other.pk},
        "contact_merge_run": {"other": other.pk},
        "contact_export_json": {},
        "contact_erase": {"confirm": "ERASE"},
        "contact_segments_change": {"segment": "1"},
        "contact_enroll": {"cadence": "1"},
    }
    for name, data in posts.items():
        url = reverse(name, args=[lead.pk])
        assert mine.get(url).status_code in (403, 405), name
        assert mine.post(url, data).status_code == 403, name
    lead.refresh_from_db()
    assert lead.erased_at is None and lead.merged_into_id is None
    assert Enrollment.objects.filter(contact=lead).count() == 1


def test_the_rep_rates_and_notes_its_own_lead(mine, me):
    lead = mql(1)
    enroll(lead, me.rep)
    rated = mine.post(
        reverse("contact_rate", args=[lead.pk]),
        {"verdict": "bad", "reason": "not_a_buyer", "note": "a student"},
        HTTP_HX_REQUEST="true",
    )
    assert rated.status_code == 200 and b'data-testid="quality-saved"' in rated.content
    assert LeadRating.objects.get(contact=lead).rated_by == me
    noted = mine.post(reverse("contact_note_add", args=[lead.pk]), {"body": "Call after 5"})
    assert noted.status_code == 302
    assert Note.objects.get(contact=lead).author == me


def test_the_reps_contact_page_costs_a_fixed_number_of_queries(
    client,
    user_with_role,
    busy_contact,  # noqa: F811 (the fixture)
    django_assert_max_num_queries,
):
    user = user_with_role(Role.REP)
    enroll(busy_contact, Rep.objects.create(user=user))
    client.force_login(user)
    # The marketer's 17 (tests/leads/test_contact_pages.py) + 1: is it the rep's lead.
    with django_assert_max_num_queries(18):
        assert client.get(detail(busy_contact)).status_code == 200
    for name, most in (
        ("contact_sales_panel", 8),
        ("contact_messaging_panel", 11),
        ("contact_score_panel", 12),
        ("contact_segments", 8),
    ):
        with django_assert_max_num_queries(most):
            assert client.get(reverse(name, args=[busy_contact.pk])).status_code == 200


# --- My contacts ------------------------------------------------------------------------------


def listed(client: Any, **params: Any) -> list[str]:
    answer = client.get(reverse("my_contacts"), params)
    assert answer.status_code == 200
    return [row.name for row in answer.context["rows"]]


def test_my_contacts_lists_the_reps_leads_and_nobody_elses(mine, me, user_with_role):
    enroll(mql(1, first_name="Ann", last_name="Active"), me.rep)
    enroll(mql(2, first_name="Ed", last_name="Ended"), me.rep, status=Enrollment.Status.ENDED)
    enroll(mql(3, first_name="Zebedee", last_name="Theirs"), other_rep(user_with_role))
    mql(4, first_name="Nobody")
    assert listed(mine) == ["Ed Ended", "Ann Active"]  # newest first
    body = mine.get(reverse("my_contacts")).content.decode()
    assert "Zebedee" not in body and "Nobody" not in body
    assert f'href="{detail(Contact.objects.get(first_name="Ann"))}"' in body


def test_my_contacts_search_and_stage_filter(mine, me):
    enroll(mql(1, first_name="Ada", last_name="Lovelace"), me.rep)
    enroll(mql(2, first_name="Grace", last_name="Hopper", lifecycle_stage="sql"), me.rep)
    assert listed(mine, q="love") == ["Ada Lovelace"]
    assert listed(mine, q="lead2@example.com") == ["Grace Hopper"]
    assert listed(mine, stage="sql") == ["Grace Hopper"]
    empty = mine.get(reverse("my_contacts"), {"q": "nobody-like-this"}).content.decode()
    assert "None of your contacts matches this search." in empty
    # Nonsense is left out, never a 500.
    assert listed(mine, stage="nonsense", after="x") == ["Grace Hopper", "Ada Lovelace"]


def test_my_contacts_says_how_leads_get_there(mine):
    html = mine.get(reverse("my_contacts")).content.decode()
    assert 'data-testid="empty"' in html and "Leads you work in the queue appear here" in html
    assert f'href="{reverse("queue")}"' in html


def test_my_contacts_pages_by_keyset_in_fixed_queries(
    mine, me, monkeypatch, django_assert_max_num_queries
):
    from leads import views_contacts

    monkeypatch.setattr(views_contacts, "MINE_PAGE_SIZE", 5)
    for n in range(12):
        enroll(mql(n, first_name=f"Lead{n:02d}"), me.rep)
    seen: list[str] = []
    after = ""
    pages = 0
    while True:
        with django_assert_max_num_queries(6):  # session, user, 2 x permissions, page, menu
            answer = mine.get(reverse("my_contacts"), {"after": after} if after else {})
        seen += [row.name.split()[0] for row in answer.context["rows"]]
        pages += 1
        if answer.context["next_after"] is None:
            break
        after = str(answer.context["next_after"])
        assert f"after={after}" in answer.content.decode()
    assert pages == 3 and seen == [f"Lead{n:02d}" for n in reversed(range(12))]


def test_my_contacts_is_in_the_reps_menu(mine):
    html = mine.get(reverse("queue")).content.decode()
    assert 'data-section="my_contacts"' in html


@pytest.mark.parametrize("role", [Role.MARKETER, Role.MANAGER, Role.ADMIN])
def test_my_contacts_is_for_who_works_leads(client_as, role):
    assert client_as(role).get(reverse("my_contacts")).status_code == 403


def test_a_sales_manager_sees_all_contacts_but_lists_only_its_own(client, user_with_role):
    user = user_with_role(Role.SALES_MANAGER)
    enroll(mql(1, first_name="Mine"), Rep.objects.create(user=user))
    enroll(mql(2, first_name="Theirs"), other_rep(user_with_role))
    client.force_login(user)
    assert [n.split()[0] for n in listed(client)] == ["Mine"]
    assert client.get(detail(Contact.objects.get(first_name="Theirs"))).status_code == 200


# --- From the queue ---------------------------------------------------------------------------


def test_the_queue_links_the_lead_to_its_contact_page(mine, me):
    lead = mql(1, first_name="Queued")
    enroll(lead, me.rep)
    html = mine.get(reverse("queue")).content.decode()
    assert f'<a href="{detail(lead)}" data-testid="queue-contact-link">' in html
    assert mine.get(detail(lead)).status_code == 200


def test_the_messaging_panel_links_only_to_pages_the_reader_may_open(mine, me, client_as):
    """A rep sees what was sent to its lead, but the delivery and journey pages are the
    marketers': no link that ends in a 403."""
    from automations.services.deliveries import delivery_schedule

    lead = ContactFactory(email="lead@example.com")
    enroll(lead, me.rep)
    delivery = delivery_schedule(
        key="panel-1",
        contact=lead,
        channel="email",
        purpose="marketing",
        due_at=timezone.now(),
        subject="Your cart",
    )
    panel = reverse("contact_messaging_panel", args=[lead.pk])
    link = reverse("delivery_detail", args=[delivery.pk])

    as_rep = mine.get(panel).content.decode()
    assert "Your cart" in as_rep and link not in as_rep
    assert mine.get(link).status_code == 403
    assert link in client_as(Role.MARKETER).get(panel).content.decode()
