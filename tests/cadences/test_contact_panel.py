"""The contact page shows the contact's cadences and touches in a panel of their own."""

from __future__ import annotations

import pytest

from cadences.services.enrollment import enrollment_start
from cadences.services.queue import touch_record
from growth.roles import Role
from tests.cadences.helpers import NOW, mql, published, rep

pytestmark = pytest.mark.django_db


def test_the_sales_panel_lists_enrollments_and_touches_in_three_queries(
    client_as, django_assert_max_num_queries
):
    cadence = published("Fast follow-up")
    me = rep()
    lead = mql()
    enrollment = enrollment_start(contact=lead, key="k", cadence=cadence, rep=me, now=NOW)
    for n in range(2):
        touch_record(
            rep=me, enrollment_id=enrollment.pk, disposition="no_answer", key=f"t{n}", now=NOW
        )
    client = client_as(Role.SALES_MANAGER)
    client.get("/")  # the session and user are loaded once
    with django_assert_max_num_queries(8):  # session, user, 2 x permissions, contact, 3 lists
        page = client.get(f"/contacts/{lead.pk}/sales-panel/").content.decode()
    assert "Fast follow-up" in page and page.count("no answer") == 2


def test_the_panel_is_registered_on_the_contact_page_and_guarded(client_as):
    lead = mql()
    page = client_as(Role.SALES_MANAGER).get(f"/contacts/{lead.pk}/").content.decode()
    assert f"/contacts/{lead.pk}/sales-panel/" in page
    # Not one of this rep's leads: as if it did not exist.
    assert client_as(Role.REP).get(f"/contacts/{lead.pk}/sales-panel/").status_code == 404
    assert client_as(Role.SALES_MANAGER).get("/contacts/999999/sales-panel/").status_code == 404
    empty = client_as(Role.SALES_MANAGER).get(f"/contacts/{lead.pk}/sales-panel/").content.decode()
    assert 'data-testid="sales-empty"' in empty


def test_touches_are_on_the_contact_s_timeline_and_can_be_filtered(client_as):
    cadence = published("Fast follow-up")
    me = rep()
    lead = mql()
    enrollment = enrollment_start(contact=lead, key="k", cadence=cadence, rep=me, now=NOW)
    touch_record(
        rep=me,
        enrollment_id=enrollment.pk,
        disposition="voicemail",
        notes="Call back at 4",
        key="t",
        now=NOW,
    )
    client = client_as(Role.SALES_MANAGER)
    page = client.get(f"/contacts/{lead.pk}/").content.decode()
    assert 'data-kind="touches"' in page and "Call back at 4" in page
    only_touches = client.get(f"/contacts/{lead.pk}/?kind=touches").content.decode()
    assert 'data-kind="touches"' in only_touches and 'data-kind="stages"' not in only_touches


def test_a_sales_manager_enrolls_a_contact_from_its_page(client_as):
    from cadences.models import Enrollment

    cadence = published("From the page")
    lead = mql()
    marketer = client_as(Role.MARKETER)
    assert marketer.post(f"/contacts/{lead.pk}/enroll/", {"cadence": cadence.pk}).status_code == 403
    manager = client_as(Role.SALES_MANAGER)
    panel = manager.get(f"/contacts/{lead.pk}/sales-panel/").content.decode()
    assert 'data-testid="contact-enroll"' in panel and "From the page" in panel
    for bad in ("", "abc", "99999999", "9" * 40):
        answer = manager.post(f"/contacts/{lead.pk}/enroll/", {"cadence": bad}, follow=True)
        assert answer.status_code == 200 and "Choose an active cadence" in answer.content.decode()
    answer = manager.post(f"/contacts/{lead.pk}/enroll/", {"cadence": cadence.pk}, follow=True)
    assert "is on “From the page”" in answer.content.decode()
    assert Enrollment.objects.get().contact_id == lead.pk
    again = manager.post(f"/contacts/{lead.pk}/enroll/", {"cadence": cadence.pk}, follow=True)
    assert "already on" in again.content.decode() and Enrollment.objects.count() == 1
    panel = manager.get(f"/contacts/{lead.pk}/sales-panel/").content.decode()
    assert 'data-testid="contact-enroll"' not in panel
