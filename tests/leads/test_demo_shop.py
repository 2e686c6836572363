"""The demo shop: believable, idempotent, and written through the real ingestion path."""

import pytest
from django.core.management import call_command

from leads.demo.loader import demo_shop_load
from leads.models import Contact, Event, InboundDelivery, Order
from tests.leads.helpers import process_all

pytestmark = pytest.mark.django_db


def test_demo_shop_funnel_and_idempotence():
    new = demo_shop_load(contacts=80, days=30, seed=7)
    assert new > 80 * 3
    assert set(InboundDelivery.objects.values_list("status", flat=True)) == {"processed"}
    assert Contact.objects.filter(merged_into__isnull=True).count() == 80
    views = Event.objects.filter(name="Page Viewed").values("contact").distinct().count()
    carts = Event.objects.filter(name="Product Added").values("contact").distinct().count()
    checkouts = Event.objects.filter(name="Checkout Started").values("contact").distinct().count()
    buyers = Order.objects.values("contact").distinct().count()
    assert views == 80 and views > carts > checkouts >= buyers > 0  # the funnel drops off
    assert Order.objects.exclude(contact__email="").count() == Order.objects.count()
    # Contacts date from their first visit, not from the load.
    from datetime import timedelta

    from django.utils import timezone

    oldest = Contact.objects.order_by("created_at").first()
    assert oldest is not None and oldest.created_at < timezone.now() - timedelta(days=7)
    channels = set(Contact.objects.values_list("source_channel", flat=True))
    assert {"google / cpc", "direct"} <= channels

    assert demo_shop_load(contacts=80, days=30, seed=7) == 0  # same seed: nothing new


@pytest.mark.django_db(transaction=True)
def test_trickle_posts_live_traffic_over_http(live_server):
    call_command("demo_trickle", url=live_server.url, visitors=3, every=0)
    stored = InboundDelivery.objects.count()
    assert stored >= 3
    assert process_all() == stored
    assert not InboundDelivery.objects.exclude(status="processed").exists()


def test_demo_lead_verdicts_rate_most_qualified_leads_once(user_with_role):
    from growth.demo import DEMO_USERS
    from growth.roles import Role
    from leads.demo.ratings import demo_ratings_load
    from leads.models import LeadRating, StageChange

    user_with_role(Role.SALES_MANAGER, username=DEMO_USERS[Role.SALES_MANAGER][0])
    demo_shop_load(contacts=120, days=30, seed=3)
    qualified = StageChange.objects.filter(to_stage__in=["mql", "sql"]).values("contact").distinct()
    rated = demo_ratings_load()
    assert 0 < rated < qualified.count()
    assert LeadRating.objects.filter(contact__in=qualified).count() == rated
    assert {"good", "bad"} == set(LeadRating.objects.values_list("verdict", flat=True))
    assert not LeadRating.objects.filter(verdict="bad", reason="").exists()
    assert LeadRating.objects.filter(rated_by__username="salesmanager").count() == rated
    assert demo_ratings_load() == 0  # a second `make demo` adds none
