"""Conversion by source from the contact rollup equals its definition over the raw contacts.

Hypothesis makes contacts around day boundaries of a far-from-UTC reporting zone, some of them
buyers, then changes them the ways a shop does (a first order, a cancelled order, a merge, an
erasure, a channel learnt later, a deletion) with refreshes in between. After the last refresh,
each day's new contacts and customers per channel must equal a count in plain Python.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from analytics.filters import Filters
from analytics.selectors_sales import conversion_by_source
from analytics.services.rollups import rollups_refresh
from leads.models import Contact, Order
from tests.leads.factories import ContactFactory, OrderFactory, SourceFactory

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 5, 10, tzinfo=UTC)
CHANNELS = ["google / cpc", "facebook / paid-social", ""]

contact_st = st.tuples(
    st.integers(0, 24 * 4),  # created, hours after BASE
    st.integers(0, len(CHANNELS) - 1),
    st.sampled_from(["", "paid", "cancelled", "pending"]),  # its order, if any
)
change_st = st.tuples(
    st.sampled_from(["buy", "cancel", "merge", "erase", "channel", "delete", "recreate"]),
    st.integers(0, 100),
    st.integers(0, 100),
)


def expected(day: date, zone: ZoneInfo) -> dict[str, tuple[int, int]]:
    """{channel: (new contacts, customers among them)} for one local day, from the raw rows."""
    bought = set(
        Order.objects.exclude(status__in=["pending", "cancelled"]).values_list(
            "contact_id", flat=True
        )
    )
    contacts: Counter[str] = Counter()
    customers: Counter[str] = Counter()
    kept = Contact.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
    for contact in kept:
        if contact.created_at.astimezone(zone).date() != day:
            continue
        channel = contact.source_channel or "direct"
        contacts[channel] += 1
        customers[channel] += contact.pk in bought
    return {channel: (n, customers[channel]) for channel, n in contacts.items()}


@hsettings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    made=st.lists(contact_st, min_size=1, max_size=8),
    changes=st.lists(change_st, max_size=6),
    zone=st.sampled_from(["UTC", "Asia/Shanghai", "America/Los_Angeles"]),
)
def test_new_contacts_and_customers_per_source_equal_the_raw_contacts(  # type: ignore[no-untyped-def]
    settings, made, changes, zone
) -> None:
    settings.GROWTH_REPORTING_TIME_ZONE = zone
    local = ZoneInfo(zone)
    with transaction.atomic():
        source = SourceFactory(kind="shopify")
        contacts = []
        for hours, channel_i, status in made:
            contact = ContactFactory(source_channel=CHANNELS[channel_i])
            # created_at is set on insert; the shop's history is older than that.
            Contact.objects.filter(pk=contact.pk).update(created_at=BASE + timedelta(hours=hours))
            if status:
                OrderFactory(source=source, contact=contact, status=status)
            contacts.append(contact)
        rollups_refresh()
        for kind, pick, other in changes:
            contact = contacts[pick % len(contacts)]
            alive = Contact.objects.filter(pk=contact.pk)
            if kind == "buy":
                if alive.exists():
                    OrderFactory(source=source, contact=contact, status="paid")
            elif kind == "cancel":
                Order.objects.filter(contact=contact).update(status="cancelled")
            elif kind == "merge":
                survivor = contacts[other % len(contacts)]
                if survivor.pk != contact.pk and Contact.objects.filter(pk=survivor.pk).exists():
                    alive.update(merged_into=survivor)
                    Order.objects.filter(contact=contact).update(contact=survivor)
            elif kind == "erase":
                alive.update(erased_at=timezone.now())
            elif kind == "channel":
                alive.update(source_channel=CHANNELS[other % len(CHANNELS)])
            elif kind == "delete":
                Order.objects.filter(contact=contact).delete()
                Contact.objects.filter(merged_into=contact).update(merged_into=None)
                alive.delete()
            else:  # a new contact on another day
                fresh = ContactFactory(source_channel=CHANNELS[other % len(CHANNELS)])
                Contact.objects.filter(pk=fresh.pk).update(created_at=BASE + timedelta(hours=other))
                contacts.append(fresh)
            rollups_refresh()

        for day in range(9, 16):
            one = Filters(start=date(2026, 5, day), end=date(2026, 5, day))
            rows = conversion_by_source(one)
            got = {r["channel"]: (r["contacts"], r["customers"]) for r in rows if r["contacts"]}
            assert got == expected(one.start, local)
        transaction.set_rollback(True)


def test_a_contact_save_that_changes_nothing_the_rollup_reads_marks_nothing() -> None:
    """Contacts are saved all the time (score, stage, last seen): only the columns conversion
    by source groups or filters by may mark their day."""
    from analytics.models import DirtyDay

    contact = ContactFactory(source_channel="google / cpc")
    rollups_refresh()
    contact.score = 40
    contact.save()
    assert not DirtyDay.objects.filter(kind="contacts").exists()
    Contact.objects.filter(pk=contact.pk).update(source_channel="email")
    assert DirtyDay.objects.filter(kind="contacts").exists()
