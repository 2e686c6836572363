"""The send limiter: consent per purpose, suppression, quiet hours in the contact's zone
(DST included), and frequency caps shared by marketing and sales, deferring, never dropping."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from automations.limiter import (
    INPUTS_SQL,
    _cap_frees_at,
    consent_verdict,
    inputs_params,
    limiter_check,
    policy,
    quiet_hours_end,
)
from automations.models import Delivery, SendingPolicy, Suppression
from leads.models import Consent, Contact
from tests.leads.factories import ConsentFactory, ContactFactory

BERLIN = ZoneInfo("Europe/Berlin")
RULES = SendingPolicy(allowed_from=time(8), allowed_until=time(21))


def at(text: str, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("local", "opens"),
    [
        ("2025-06-10 12:00", None),
        ("2025-06-10 08:00", None),
        ("2025-06-10 21:00", "2025-06-11 08:00"),
        ("2025-06-10 23:30", "2025-06-11 08:00"),
        ("2025-06-10 03:00", "2025-06-10 08:00"),
        # The night clocks go forward (30 March) and back (26 October) in Berlin: still 8:00.
        ("2025-03-29 22:00", "2025-03-30 08:00"),
        ("2025-10-25 22:00", "2025-10-26 08:00"),
    ],
)
def test_quiet_hours_hold_until_the_window_opens_on_the_contact_s_clock(local, opens):
    got = quiet_hours_end(at(local), BERLIN, RULES)
    assert got == (at(opens) if opens else None)
    if got:
        assert got.astimezone(BERLIN).time() == time(8)


def test_a_window_over_midnight():
    night = SendingPolicy(allowed_from=time(18), allowed_until=time(2))
    assert quiet_hours_end(at("2025-06-10 01:00"), BERLIN, night) is None
    assert quiet_hours_end(at("2025-06-10 03:00"), BERLIN, night) == at("2025-06-10 18:00")


NOW = datetime(2025, 6, 10, 12, tzinfo=UTC)


def test_caps_free_a_slot_when_enough_sends_age_out():
    sent = [NOW - timedelta(hours=2), NOW - timedelta(days=2), NOW - timedelta(days=5)]
    assert _cap_frees_at(sent, 1, timedelta(days=1), NOW) == sent[0] + timedelta(days=1)
    assert _cap_frees_at(sent, 3, timedelta(days=7), NOW) == sent[2] + timedelta(days=7)
    assert _cap_frees_at(sent, 4, timedelta(days=7), NOW) is None
    assert _cap_frees_at(sent[1:], 1, timedelta(days=1), NOW) is None


@given(
    ages=st.lists(st.integers(min_value=1, max_value=14 * 24 * 60), max_size=12),
    cap=st.integers(min_value=1, max_value=5),
    days=st.sampled_from([1, 7]),
)
def test_after_the_cap_frees_a_slot_fewer_than_cap_sends_are_in_the_window(ages, cap, days):
    window = timedelta(days=days)
    sent = sorted((NOW - timedelta(minutes=m) for m in ages), reverse=True)
    frees = _cap_frees_at(sent, cap, window, NOW)
    inside_now = [s for s in sent if s > NOW - window]
    if frees is None:
        assert len(inside_now) < cap
    else:
        assert frees > NOW
        assert len([s for s in sent if frees - window < s <= frees]) < cap
        just_before = frees - timedelta(seconds=1)
        assert len([s for s in sent if just_before - window < s <= just_before]) >= cap


@pytest.mark.parametrize(
    ("channel", "purpose", "consent", "refused"),
    [
        ("email", "marketing", "granted", False),
        ("email", "marketing", "unknown", True),
        ("email", "marketing", None, True),
        ("email", "sales", "unknown", False),
        ("email", "sales", "denied", True),
        ("email", "transactional", "denied", False),  # an order confirmation still goes
        ("sms", "transactional", "denied", True),  # STOP stops every SMS
        ("sms", "marketing", "granted", False),
    ],
)
def test_consent_per_channel_and_purpose(channel, purpose, consent, refused):
    assert (consent_verdict(channel, purpose, consent) is not None) is refused


# --- With the database ----------------------------------------------------------------------


def delivery(contact, **fields) -> Delivery:  # type: ignore[no-untyped-def]
    values = {
        "key": f"k{Delivery.objects.count()}",
        "contact": contact,
        "channel": "email",
        "purpose": "marketing",
        "scheduled_for": NOW,
        "due_at": NOW,
        "to_address": contact.email,
        **fields,
    }
    return Delivery.objects.create(**values)


@pytest.fixture
def anna(db):  # type: ignore[no-untyped-def]
    contact = ContactFactory(email="anna@example.com", time_zone="Europe/Berlin")
    ConsentFactory(contact=contact, channel="email", status=Consent.Status.GRANTED)
    return contact


def test_the_limiter_reads_consent_suppression_and_caps(anna, django_assert_num_queries):
    rules = policy()
    assert limiter_check(delivery(anna), NOW, rules).send

    Suppression.objects.create(channel="email", address="anna@example.com", reason="hard_bounce")
    verdict = limiter_check(delivery(anna), NOW, rules)
    assert verdict.never and "hard bounce" in verdict.reason
    Suppression.objects.all().delete()

    delivery(anna, status="sent", sent_at=NOW - timedelta(hours=3))
    second = delivery(anna)
    second.contact = anna
    with django_assert_num_queries(1):  # consent, suppression, topics, recent sends: one query
        verdict = limiter_check(second, NOW, rules)
    assert not verdict.send and verdict.later == NOW - timedelta(hours=3) + timedelta(days=1)
    assert "at most 1" in verdict.reason

    # A sales e-mail shares the cap; a transactional one ignores it.
    assert not limiter_check(delivery(anna, purpose="sales"), NOW, rules).send
    assert limiter_check(delivery(anna, purpose="transactional"), NOW, rules).send


def test_a_freed_slot_at_night_waits_for_the_morning(anna):
    rules = policy()
    evening = at("2025-06-10 20:30")
    delivery(anna, status="sent", sent_at=evening - timedelta(days=1) + timedelta(hours=1))
    verdict = limiter_check(delivery(anna), evening, rules)
    assert verdict.later == at("2025-06-11 08:00")


def test_no_address_is_never_sent(db):
    contact = ContactFactory(email="", phone="")
    verdict = limiter_check(delivery(contact, channel="sms", purpose="transactional"), NOW)
    assert verdict.never and "phone number" in verdict.reason


def test_caps_read_the_contact_s_own_sends_even_with_statistics_from_before_the_first_send(db):
    """Statistics taken while every delivery was still scheduled (sent_at all NULL, as when
    a big send is loaded and analyzed before it starts) made a sent_at range look free on
    delivery_sent: each message then scanned every recent send (75 ms at 120,000). The
    limiter's query has no such range: it reads the contact's own rows."""
    contacts = Contact.objects.bulk_create(
        Contact(email=f"p{n}@example.com", time_zone="UTC") for n in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO automations_delivery (key, channel, purpose, priority, origin, status,
                scheduled_for, due_at, deferrals, attempts, reason, to_address, subject,
                body_text, body_html, tags, provider_message_id, outbox, created_at,
                updated_at, contact_id)
            SELECT 'plan-' || g, 'email', 'marketing', 0, 'journey', 'scheduled', now(), now(),
                0, 0, '', 'p' || g || '@example.com', '', '', '', '[]', '', false, now(), now(),
                (%(ids)s::bigint[])[1 + g %% 2000]
            FROM generate_series(1, 6000) g""",
            {"ids": [c.pk for c in contacts]},
        )
        cursor.execute("ANALYZE automations_delivery")
        cursor.execute(
            "UPDATE automations_delivery SET status = 'sent', sent_at = now() - id * interval '1 s'"
            " WHERE key < 'plan-5'"
        )
        probe = delivery(contacts[7])
        cursor.execute("EXPLAIN " + INPUTS_SQL, inputs_params([probe], NOW, policy()))
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "delivery_sent" not in plan, plan
    assert "Seq Scan" not in plan, plan
    recent_sends = plan.split("SubPlan 4")[1].split("SubPlan 5")[0]
    assert "Index Cond: (contact_id = q.contact_id" in recent_sends, plan
