"""Send time: the local hour a contact opens or clicks most (in its own time zone, across
DST), the shop's hour as a fallback, then 10:00; and the next moment at that hour, DST-safe
and inside the sending policy's allowed hours."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from automations import send_time
from automations.limiter import policy, quiet_hours_end
from automations.models import Delivery, SendingPolicy
from automations.send_time import allowed_send_time, best_send_hour, next_best_time
from leads.models import Contact
from tests.leads.factories import ContactFactory

BERLIN, NEW_YORK, TOKYO = "Europe/Berlin", "America/New_York", "Asia/Tokyo"
_keys = itertools.count(1)


def read(contact: Contact, *opened: datetime, clicked: datetime | None = None) -> None:
    """One delivery per open time (clicked as well when given)."""
    for at in opened:
        Delivery.objects.create(
            key=f"d{next(_keys)}",
            contact=contact,
            channel="email",
            purpose="marketing",
            status=Delivery.Status.OPENED,
            scheduled_for=at - timedelta(hours=1),
            due_at=at - timedelta(hours=1),
            sent_at=at - timedelta(hours=1),
            opened_at=at,
            clicked_at=clicked,
        )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- The best hour --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_contacts_own_hour_is_local_and_holds_across_dst():
    anna = ContactFactory(time_zone=NEW_YORK)
    # 19:00 in New York: 00:00 UTC in winter (EST), 23:00 UTC in summer (EDT).
    read(anna, utc(2025, 1, 15, 0), utc(2025, 7, 15, 23), utc(2025, 2, 2, 0, 30))
    read(anna, utc(2025, 6, 1, 13), utc(2025, 6, 2, 14))  # 09:00 and 10:00 local, once each
    assert best_send_hour(anna.pk) == (19, "contact")


@pytest.mark.django_db
def test_clicks_count_and_a_tie_goes_to_the_latest_habit():
    bob = ContactFactory(time_zone=BERLIN)
    read(bob, utc(2025, 6, 1, 6))  # 08:00 CEST, long ago
    read(bob, utc(2025, 6, 20, 16))  # 18:00 CEST, lately
    assert best_send_hour(bob.pk) == (18, "contact")
    # An open at 07:xx local with a click at 08:xx: 08:00 now leads.
    read(bob, utc(2025, 6, 21, 5, 50), clicked=utc(2025, 6, 21, 6, 5))
    assert best_send_hour(bob.pk) == (8, "contact")


@pytest.mark.django_db
def test_without_own_reads_the_shops_hour_then_ten():
    quiet = ContactFactory(time_zone=BERLIN)
    assert best_send_hour(quiet.pk) == (10, "default")
    send_time.cache.clear()

    # 20:00 local for everyone who reads: winter Berlin (19 UTC), Tokyo (11 UTC), and a
    # contact whose zone PostgreSQL does not know (read in the default zone, UTC).
    read(ContactFactory(time_zone=BERLIN), utc(2025, 1, 10, 19), utc(2025, 1, 11, 19))
    read(ContactFactory(time_zone=TOKYO), utc(2025, 6, 10, 11))
    read(ContactFactory(time_zone="Mars/Olympus_Mons"), utc(2025, 6, 10, 20))
    read(ContactFactory(time_zone=NEW_YORK), utc(2025, 6, 10, 13))  # 09:00 once
    assert best_send_hour(quiet.pk) == (20, "shop")


@pytest.mark.django_db
def test_the_shops_hour_is_cached(django_assert_num_queries):
    quiet = ContactFactory(time_zone=BERLIN)
    read(ContactFactory(time_zone="UTC"), utc(2025, 6, 10, 7))
    rules = policy()
    assert best_send_hour(quiet.pk, rules=rules) == (7, "shop")
    read(ContactFactory(time_zone="UTC"), utc(2025, 6, 10, 15), utc(2025, 6, 11, 15))
    with django_assert_num_queries(2):  # the contact's zone and its reads; the shop: cached
        assert best_send_hour(quiet.pk, rules=rules) == (7, "shop")
    send_time.cache.clear()
    assert best_send_hour(quiet.pk, rules=rules) == (15, "shop")


@pytest.mark.django_db
def test_a_contact_with_an_unknown_zone_reads_in_the_policys_zone():
    rules = policy()
    rules.default_time_zone = TOKYO
    rules.save()
    odd = ContactFactory(time_zone="Nowhere/Special")
    read(odd, utc(2025, 6, 10, 0))  # 09:00 in Tokyo
    assert best_send_hour(odd.pk) == (9, "contact")


# --- The next moment ------------------------------------------------------------------------


def reads_at(contact: Contact, local_hour: int, zone: str) -> None:
    day = datetime(2025, 5, 5, local_hour, 15, tzinfo=ZoneInfo(zone))
    read(contact, *(day - timedelta(days=n) for n in range(3)))


@pytest.mark.django_db
def test_next_best_time_is_today_or_tomorrow_at_the_hour():
    anna = ContactFactory(time_zone=BERLIN)
    reads_at(anna, 9, BERLIN)
    # 07:00 in Berlin (CEST): 09:00 is still ahead today.
    assert next_best_time(anna, utc(2025, 6, 10, 5)) == utc(2025, 6, 10, 7)
    # At 09:00 exactly: now. At 09:01: tomorrow.
    assert next_best_time(anna, utc(2025, 6, 10, 7)) == utc(2025, 6, 10, 7)
    assert next_best_time(anna, utc(2025, 6, 10, 7, 1)) == utc(2025, 6, 11, 7)
    # 23:30 UTC is already the next day in Berlin.
    assert next_best_time(anna, utc(2025, 6, 10, 23, 30)) == utc(2025, 6, 11, 7)


@pytest.mark.django_db
def test_next_best_time_keeps_the_wall_clock_hour_over_dst_changes():
    anna = ContactFactory(time_zone=BERLIN)
    reads_at(anna, 9, BERLIN)
    # Spring forward (30 March 2025): 09:00 CEST is 07:00 UTC, one hour earlier than the
    # day before (09:00 CET = 08:00 UTC).
    assert next_best_time(anna, utc(2025, 3, 29, 10)) == utc(2025, 3, 30, 7)
    assert next_best_time(anna, utc(2025, 3, 28, 10)) == utc(2025, 3, 29, 8)
    # Fall back (26 October 2025): 09:00 CET is 08:00 UTC again.
    assert next_best_time(anna, utc(2025, 10, 25, 10)) == utc(2025, 10, 26, 8)


@pytest.mark.django_db
def test_an_hour_skipped_or_repeated_by_dst_is_sent_once_at_a_real_moment():
    rules = policy()
    rules.allowed_from, rules.allowed_until = time(0), time(23, 59)
    rules.save()
    night_owl = ContactFactory(time_zone=BERLIN)
    reads_at(night_owl, 2, BERLIN)
    # 02:00 does not exist on 30 March in Berlin: the clock jumps to 03:00 (01:00 UTC).
    sent = next_best_time(night_owl, utc(2025, 3, 29, 12), rules=rules)
    assert sent == utc(2025, 3, 30, 1)
    assert sent.astimezone(ZoneInfo(BERLIN)).hour == 3
    # 02:00 happens twice on 26 October: the first time (02:00 CEST = 00:00 UTC).
    assert next_best_time(night_owl, utc(2025, 10, 25, 12), rules=rules) == utc(2025, 10, 26, 0)


@pytest.mark.django_db
def test_quiet_hours_move_the_hour_to_the_nearest_allowed_moment():
    rules = policy()  # 08:00 to 21:00
    late = ContactFactory(time_zone=NEW_YORK)
    reads_at(late, 23, NEW_YORK)
    # 23:00 is quiet: 20:00, the window's last whole hour, that evening (EDT = UTC-4).
    assert next_best_time(late, utc(2025, 6, 10, 12), rules=rules) == utc(2025, 6, 11, 0)
    early = ContactFactory(time_zone=NEW_YORK)
    reads_at(early, 5, NEW_YORK)
    assert next_best_time(early, utc(2025, 6, 10, 3), rules=rules) == utc(2025, 6, 10, 12)


@pytest.mark.parametrize(
    ("hour", "window", "expected"),
    [
        (14, (time(8), time(21)), time(14)),
        (3, (time(8), time(21)), time(8)),
        (22, (time(8), time(21)), time(20)),
        (21, (time(8), time(21, 30)), time(21)),
        (23, (time(8, 30), time(21, 30)), time(20, 30)),
        (10, (time(18), time(2)), time(18)),  # a window over midnight
        (3, (time(18), time(2)), time(1)),
        (23, (time(18), time(2)), time(23)),
        (12, (time(9), time(9, 30)), time(9)),  # shorter than an hour
    ],
)
def test_allowed_send_time(hour, window, expected):
    rules = SendingPolicy(allowed_from=window[0], allowed_until=window[1])
    assert allowed_send_time(hour, rules) == expected


@pytest.mark.django_db
def test_next_best_time_from_now_with_time_travel():
    anna = ContactFactory(time_zone=TOKYO)
    reads_at(anna, 18, TOKYO)
    with time_machine.travel(utc(2025, 12, 31, 12), tick=False):  # 21:00 in Tokyo
        assert next_best_time(anna, timezone.now()) == utc(2026, 1, 1, 9)


ZONES = [BERLIN, NEW_YORK, TOKYO, "Australia/Lord_Howe", "America/Santiago", "UTC"]


@settings(max_examples=300, deadline=None)
@given(
    hour=st.integers(0, 23),
    zone=st.sampled_from(ZONES),
    start=st.integers(0, 23),
    length=st.integers(1, 23),
    after=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1)),
)
def test_next_best_time_is_always_ahead_allowed_and_within_two_days(
    hour, zone, start, length, after
):
    rules = SendingPolicy(
        allowed_from=time(start), allowed_until=time((start + length) % 24), default_time_zone="UTC"
    )
    contact = Contact(pk=1, time_zone=zone)
    after = after.replace(tzinfo=UTC)
    with mock.patch.object(send_time, "best_send_hour", return_value=(hour, "contact")):
        sent = next_best_time(contact, after, rules=rules)
    assert sent.tzinfo is not None and sent.utcoffset() == timedelta(0)
    assert after <= sent < after + timedelta(days=2)
    assert quiet_hours_end(sent, ZoneInfo(zone), rules) is None  # the limiter lets it go
