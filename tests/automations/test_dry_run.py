"""Dry run: the last days of real events replayed through a draft, with quiet hours, caps,
consent and goals, writing and sending nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automations.journeys.dry_run import journey_dry_run
from automations.journeys.shipped import shipped_install
from automations.models import Delivery, JourneyRun
from leads.models import Consent
from tests.leads.factories import ConsentFactory, ContactFactory, EventFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 12, 10, tzinfo=UTC)


def cart(name: str, at: datetime, *, sms: bool = True, bought_after: timedelta | None = None):  # type: ignore[no-untyped-def]
    contact = ContactFactory(
        first_name=name,
        email=f"{name}@example.com",
        phone="+49151" + str(abs(hash(name)))[:7],
        time_zone="Europe/Berlin",
    )
    if sms:
        ConsentFactory(contact=contact, channel="sms", status=Consent.Status.GRANTED)
    EventFactory(contact=contact, name="Checkout Started", occurred_at=at)
    if bought_after is not None:
        EventFactory(contact=contact, name="Order Completed", occurred_at=at + bought_after)
    return contact


def test_the_dry_run_shows_who_would_get_what_and_when():
    journey = shipped_install(key="abandoned_cart")
    day = datetime(2025, 6, 10, 10, tzinfo=UTC)  # noon in Berlin
    anna = cart("anna", day)
    night = cart("nina", datetime(2025, 6, 10, 21, 0, tzinfo=UTC))  # 23:00 in Berlin
    buyer = cart("ben", day, bought_after=timedelta(minutes=30))
    quiet = cart("quentin", day, sms=False)  # no SMS consent, no e-mail consent either
    cart("old", NOW - timedelta(days=30))  # outside the window

    result = journey_dry_run(journey=journey, days=7, now=NOW)

    paths = {p.contact.pk: p for p in result.paths}
    assert set(paths) == {anna.pk, night.pk, buyer.pk, quiet.pk}
    [sms] = [m for m in paths[anna.pk].moments if m.message]
    assert sms.at == day + timedelta(hours=1) and not sms.held
    [held] = [m for m in paths[night.pk].moments if m.message]
    assert held.at == datetime(2025, 6, 11, 6, tzinfo=UTC)  # 08:00 in Berlin
    assert "held back" in held.what
    assert paths[buyer.pk].outcome == "reached the goal"
    assert not [m for m in paths[buyer.pk].moments if m.message]
    [refused] = [m for m in paths[quiet.pk].moments if m.message]
    assert refused.held == "no consent"
    assert result.messages == 2 and result.held["no consent"] == 1
    assert not Delivery.objects.exists() and not JourneyRun.objects.exists()


def test_a_draft_with_problems_returns_them_instead():
    journey = shipped_install(key="abandoned_cart")
    journey.draft = {"nodes": [], "edges": []}
    result = journey_dry_run(journey=journey, now=NOW)
    assert result.problems and result.paths == []


def test_the_dry_run_page(client_as):
    from growth.roles import Role

    journey = shipped_install(key="abandoned_cart")
    cart("anna", datetime.now(UTC) - timedelta(days=1))
    client = client_as(Role.MARKETER)
    page = client.get(f"/journeys/{journey.pk}/dry-run/?days=3")
    assert page.status_code == 200 and b'data-testid="dry-run-row"' in page.content
    assert client.get(f"/journeys/{journey.pk}/dry-run/?days=999").status_code == 400
    assert client_as(Role.REP).get(f"/journeys/{journey.pk}/dry-run/").status_code == 403
