"""Reads of the webhook pages: subscriptions with their latest outcome and recent
failures (one query), and a subscription's delivery log, newest first, by keyset pages."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from automations.models import WebhookDelivery, WebhookSubscription

PAGE_SIZE = 50
S = WebhookDelivery.Status


def subscription_list() -> QuerySet[WebhookSubscription]:
    """Every subscription with `last_status` (its newest row's), `last_at`, and
    `failures_24h`: rows failed or retrying that changed in the last 24 hours."""
    newest = WebhookDelivery.objects.filter(subscription=OuterRef("pk")).order_by("-id")
    since = timezone.now() - timedelta(hours=24)
    failures = (
        WebhookDelivery.objects.filter(
            subscription=OuterRef("pk"),
            status__in=[S.FAILED, S.RETRYING],
            updated_at__gte=since,
        )
        .order_by()
        .values("subscription")
        .annotate(n=Count("id"))
        .values("n")
    )
    return WebhookSubscription.objects.annotate(
        last_status=Subquery(newest.values("status")[:1]),
        last_at=Subquery(newest.values("created_at")[:1]),
        failures_24h=Subquery(failures[:1]),
    ).order_by("name", "pk")


def delivery_log(
    *,
    subscription: WebhookSubscription,
    status: str = "",
    event_type: str = "",
    before: int | None = None,
    limit: int | None = None,
) -> tuple[list[WebhookDelivery], int | None]:
    """A page of the subscription's rows, newest first, and the id to continue before
    (None on the last page)."""
    limit = limit or PAGE_SIZE
    rows = WebhookDelivery.objects.filter(subscription=subscription)
    if status:
        rows = rows.filter(status=status)
    if event_type:
        rows = rows.filter(event_type=event_type)
    if before is not None:
        rows = rows.filter(id__lt=before)
    page = list(rows.order_by("-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1].pk if more and page else None)


__all__ = ["PAGE_SIZE", "delivery_log", "subscription_list"]
