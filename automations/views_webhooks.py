"""Outbound webhook pages for admins (MANAGE_SOURCES): the subscriptions with their latest
outcome, a subscription's form, its page with the secret (reveal/copy), secret rotation
(audited), deletion (asked first, audited), a test event, and the delivery log with
redelivery."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from automations import selectors_webhooks as selectors
from automations.forms_webhooks import DeliveryLogFilterForm, SubscriptionForm
from automations.models import WebhookDelivery, WebhookSubscription
from automations.services import webhooks as services
from growth import navigation
from growth.permissions import capability_required
from growth.roles import Capability

manage_sources = capability_required(Capability.MANAGE_SOURCES)

S = WebhookDelivery.Status
TONES: dict[str, str] = {S.DELIVERED: "ok", S.FAILED: "down", S.RETRYING: "warn"}


@manage_sources
def webhook_list(request: HttpRequest) -> HttpResponse:
    subscriptions = list(selectors.subscription_list())
    labels = dict(S.choices)
    for subscription in subscriptions:
        last = subscription.last_status or ""  # type: ignore[attr-defined]
        subscription.tone = TONES.get(last, "")  # type: ignore[attr-defined]
        subscription.last_label = labels.get(last, last)  # type: ignore[attr-defined]
    return render(
        request,
        "automations/webhooks/list.html",
        {"subscriptions": subscriptions, "section": navigation.get("webhooks")},
    )


def _save(
    request: HttpRequest, form: SubscriptionForm, subscription: WebhookSubscription | None
) -> WebhookSubscription | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        if subscription is None:
            return services.subscription_create(
                name=data["name"],
                url=data["url"],
                event_types=data["event_types"],
                is_active=data["is_active"],
                actor=request.user,
            )
        return services.subscription_update(
            subscription=subscription,
            name=data["name"],
            url=data["url"],
            event_types=data["event_types"],
            is_active=data["is_active"],
        )
    except ValidationError as error:
        form.add_error(None, error)  # a dict of field errors lands next to each field
        return None


@manage_sources
def webhook_create(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST":
        saved = _save(request, form, None)
        if saved is not None:
            messages.success(
                request,
                _("Subscription %(name)s created. Give its secret to the receiver.")
                % {"name": saved.name},
            )
            return redirect("webhook_detail", pk=saved.pk)
    return render(request, "automations/webhooks/form.html", {"form": form, "creating": True})


@manage_sources
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    form = SubscriptionForm(
        request.POST or None, initial=SubscriptionForm.initial_for(subscription)
    )
    if request.method == "POST":
        saved = _save(request, form, subscription)
        if saved is not None:
            messages.success(request, _("Subscription %(name)s saved.") % {"name": saved.name})
            return redirect("webhook_detail", pk=saved.pk)
    return render(
        request,
        "automations/webhooks/form.html",
        {"form": form, "creating": False, "subscription": subscription},
    )


def _before(request: HttpRequest) -> int | None:
    try:
        value = int(request.GET.get("before", ""))
    except ValueError:
        return None
    return value if value > 0 else None


@never_cache  # the page holds the secret: no cache may keep a copy
@manage_sources
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    form = DeliveryLogFilterForm(request.GET or None)
    filters = form.filters()
    before = _before(request)
    rows, next_before = selectors.delivery_log(
        subscription=subscription,
        status=filters.get("status", ""),
        event_type=filters.get("event_type", ""),
        before=before,
    )
    for row in rows:
        row.tone = TONES.get(row.status, "")  # type: ignore[attr-defined]
        row.payload_text = json.dumps(row.payload, indent=2, ensure_ascii=False)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("before", None)
    older = None
    if next_before is not None:
        query["before"] = str(next_before)
        older = query.urlencode()
    query.pop("before", None)
    context: dict[str, Any] = {
        "subscription": subscription,
        "grace": len(subscription.signing_secrets()) > 1,  # the previous secret still signs
        "form": form,
        "rows": rows,
        "older_query": older,
        "newest_query": query.urlencode() if before is not None else None,
        "filtered": bool(filters),
        "signature_header": "X-Growth-Signature",
    }
    return render(request, "automations/webhooks/detail.html", context)


@require_POST
@manage_sources
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    rotated = services.subscription_rotate_secret(
        subscription=subscription, actor=request.user, request=request
    )
    messages.success(
        request,
        _(
            "New secret made. The old one keeps signing too (a second signature) until "
            "%(until)s UTC: update the receiver before then."
        )
        % {"until": f"{rotated.previous_secret_expires_at:%Y-%m-%d %H:%M}"},
    )
    return redirect("webhook_detail", pk=pk)


@require_http_methods(["GET", "POST"])
@manage_sources
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first, saying what goes with it (the log, events not yet delivered); POST
    deletes (services.subscription_delete: why the log goes, why nothing more is sent)."""
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    if request.method == "GET":
        usage = services.subscription_usage(subscription=subscription)
        context = {
            "subscription": subscription,
            "logged": sum(usage.values()),
            "unsent": usage[S.PENDING] + usage[S.RETRYING],
        }
        return render(request, "automations/webhooks/delete.html", context)
    try:
        services.subscription_delete(subscription=subscription, actor=request.user, request=request)
    except ValidationError as error:  # deleted by someone else meanwhile
        messages.error(request, " ".join(error.messages))
        return redirect("webhooks")
    messages.success(
        request,
        _("Subscription %(name)s deleted with its delivery log: %(url)s gets no more events.")
        % {"name": subscription.name, "url": subscription.url},
    )
    return redirect("webhooks")


@require_POST
@manage_sources
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    services.subscription_send_test(subscription=subscription)
    if subscription.is_active:
        messages.success(
            request, _("A ping event is on its way; its outcome appears in the log below.")
        )
    else:
        messages.warning(
            request,
            _("A ping event was recorded; it goes out once the subscription is turned on."),
        )
    return redirect("webhook_detail", pk=pk)


@require_POST
@manage_sources
def webhook_redeliver(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    row = get_object_or_404(
        WebhookDelivery.objects.select_related("subscription"), pk=delivery_pk, subscription_id=pk
    )
    services.webhook_redeliver(delivery=row)
    if row.subscription.is_active:
        messages.success(
            request,
            _("Event %(event)s is being sent again now.") % {"event": row.event_id},
        )
    else:
        messages.warning(
            request,
            _("Event %(event)s will be sent again once the subscription is turned on.")
            % {"event": row.event_id},
        )
    return redirect(reverse("webhook_detail", kwargs={"pk": pk}) + f"#delivery-{row.pk}")
