"""Order accepted → on the dashboard, through the real worker: the webhook is stored, the
worker makes the order, the rollup refresh (beat's task) counts it, the page shows it. A
refund arriving later changes the figures of the order's day."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.filters import Filters
from analytics.models import SalesDay
from analytics.selectors_sales import sales_totals
from analytics.tasks import rollups_refresh_task
from growth.roles import Role
from leads.models import InboundDelivery
from tests.leads.helpers import post_shopify
from tests.leads.payloads import shopify_order, shopify_refund
from tests.polling import poll

DAY = Filters(start=date(2026, 11, 20), end=date(2026, 11, 20))


@pytest.mark.django_db(transaction=True)
def test_an_order_reaches_the_dashboard_through_the_worker(
    client, client_as, shopify_source, celery_worker
) -> None:  # type: ignore[no-untyped-def]
    assert (
        post_shopify(
            client, shopify_source, "orders/create", shopify_order(), webhook_id="o-1"
        ).status_code
        == 200
    )
    assert poll(lambda: not InboundDelivery.objects.exclude(status="processed").exists())

    rollups_refresh_task.delay()

    assert poll(lambda: SalesDay.objects.filter(day=DAY.start).exists())
    assert sales_totals(DAY).net == sales_totals(DAY, raw=True).net
    assert str(sales_totals(DAY).net) == "409.94"
    page = client_as(Role.MANAGER).get(f"/dashboards/?{DAY.query()}")
    assert b"409.94" in page.content

    # The refund comes five days later; it changes the order's day, not the refund's.
    post_shopify(
        client, shopify_source, "refunds/create", shopify_refund(amount="100.00"), webhook_id="r-1"
    )
    assert poll(lambda: not InboundDelivery.objects.exclude(status="processed").exists())
    rollups_refresh_task.delay()

    assert poll(lambda: str(sales_totals(DAY).net) == "309.94")
    assert sales_totals(DAY) == sales_totals(DAY, raw=True)
