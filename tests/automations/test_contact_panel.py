"""The contact page shows what automations did with the person, loaded as a panel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from automations.models import Delivery
from automations.services.deliveries import delivery_schedule
from automations.services.inbox import task_create
from automations.services.surveys import survey_answer, survey_create
from growth.roles import Role
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_the_panel_shows_messages_answers_and_tasks_in_fixed_queries(
    client_as, django_assert_max_num_queries
):
    anna = ContactFactory(email="anna@example.com")
    client = client_as(Role.MARKETER)
    page = client.get(f"/contacts/{anna.pk}/")
    assert f'hx-get="/contacts/{anna.pk}/messaging/"' in page.content.decode()
    empty = client.get(f"/contacts/{anna.pk}/messaging/")
    assert b'data-testid="messaging-empty"' in empty.content

    now = datetime(2025, 6, 10, 10, tzinfo=UTC)
    for n in range(3):
        delivery_schedule(
            key=f"k{n}",
            contact=anna,
            channel="email",
            purpose="marketing",
            due_at=now,
            subject=f"Hello {n}",
        )
    Delivery.objects.filter(key="k0").update(
        status="suppressed", reason="No consent to marketing e-mail."
    )
    nps = survey_create(name="NPS", kind="nps", question="Recommend us?", thank_you="Thanks")
    survey_answer(survey=nps, contact=anna, key="r1", score=4, comment="slow delivery")
    task_create(key="t1", title="Call Anna", contact=anna, role="sales_manager")
    with django_assert_max_num_queries(12):
        answer = client.get(f"/contacts/{anna.pk}/messaging/")
    html = answer.content.decode()
    assert "Hello 2" in html and "No consent to marketing e-mail." in html
    assert "slow delivery" in html and "Call Anna" in html
    assert client.get("/contacts/999999/messaging/").status_code == 404
    # Another rep's lead, or nobody's: as if it did not exist.
    assert client_as(Role.REP).get(f"/contacts/{anna.pk}/messaging/").status_code == 404
