"""The outbox pages: every message Growth sends or holds (filters, counts by status, keyset
pages), one message with its rendered content, cancelling and sending again, the sending
policy (quiet hours, caps) and the suppression list.

Without provider credentials these rows are the outbox itself: messages are recorded here
instead of leaving, and the list says so."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from automations import selectors
from automations.forms_deliveries import (
    KNOWN_ORIGINS,
    DeliveryFilterForm,
    PolicyForm,
    SuppressionFilterForm,
    SuppressionForm,
    policy_initial,
)
from automations.limiter import policy
from automations.models import Delivery, Suppression
from automations.models.delivery import Channel
from automations.services import outbox
from automations.services.deliveries import suppression_add
from growth.permissions import capability_required, denial_message
from growth.roles import Capability, permission_name

S = Delivery.Status
# How a status looks: good news green, bad news red, "will not be sent" amber.
TONES: dict[str, str] = {
    S.SENT: "ok",
    S.DELIVERED: "ok",
    S.OPENED: "ok",
    S.CLICKED: "ok",
    S.BOUNCED: "down",
    S.COMPLAINED: "down",
    S.FAILED: "down",
    S.SUPPRESSED: "warn",
    S.UNSUBSCRIBED: "warn",
}
HTML_FRAME_POLICY = "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'"


def either_capability(*capabilities: Capability) -> Callable[..., Any]:
    """Sign in first, then any one of `capabilities`, else the 403 page."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not any(request.user.has_perm(permission_name(c)) for c in capabilities):
                raise PermissionDenied(denial_message(capabilities[0]))
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


read_outbox = either_capability(Capability.MANAGE_TEMPLATES, Capability.MANAGE_JOURNEYS)
manage_policy = capability_required(Capability.MANAGE_JOURNEYS)


def providers_missing() -> list[str]:
    """Channels with no provider configured: their messages stay here (the outbox)."""
    missing = []
    if not settings.SENDGRID_API_KEY:
        missing.append(str(Channel.EMAIL.label))
    if not settings.TWILIO_ACCOUNT_SID:
        missing.append(str(Channel.SMS.label))
    return missing


@dataclass(frozen=True, slots=True)
class StatusTab:
    value: str
    label: str
    count: int
    tone: str


def status_tabs(counts: selectors.StatusCounts) -> list[StatusTab]:
    """Every status that has messages, in the order a message goes through them."""
    return [
        StatusTab(value, str(label), counts.counts[value], TONES.get(value, ""))
        for value, label in S.choices
        if counts.counts.get(value)
    ]


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    delivery: Delivery
    tone: str
    contact_name: str


def delivery_rows(deliveries: list[Delivery]) -> list[DeliveryRow]:
    return [
        DeliveryRow(
            delivery=d,
            tone=TONES.get(d.status, ""),
            contact_name=d.contact.display_name if d.contact_id and d.contact else "",
        )
        for d in deliveries
    ]


# --- The list and one message -------------------------------------------------------------


@read_outbox
@require_GET
def delivery_list(request: HttpRequest) -> HttpResponse:
    form = DeliveryFilterForm(request.GET or None)
    filters = form.filters()
    page = selectors.delivery_page(filters=filters, after=request.GET.get("after", ""))
    counts = selectors.delivery_status_counts(filters=filters)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": delivery_rows(page.deliveries),
        "counts": counts,
        # Rows listed but none counted: they are older than the counted window.
        "counts_capped": counts.capped or (counts.total == 0 and bool(page.deliveries)),
        "tabs": status_tabs(counts),
        "filtered": filters.active,
        "paged": "after" in request.GET,
        "missing": providers_missing(),
        "origins": KNOWN_ORIGINS,
    }
    return render(request, "automations/deliveries/list.html", context)


def _delivery_or_404(pk: int) -> Delivery:
    try:
        return selectors.delivery_get(pk=pk)
    except Delivery.DoesNotExist as missing:
        raise Http404(_("No message with this number.")) from missing


@read_outbox
@require_GET
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _delivery_or_404(pk)
    resends = selectors.delivery_resends(delivery=delivery)
    context = {
        "delivery": delivery,
        "tone": TONES.get(delivery.status, ""),
        "resends": resends,
        "can_cancel": delivery.status in outbox.CANCELLABLE,
        "can_resend": delivery.status in outbox.RESENDABLE and resends.copy is None,
        "missing": providers_missing(),
        "is_sms": delivery.channel == Channel.SMS,
    }
    return render(request, "automations/deliveries/detail.html", context)


@read_outbox
@require_GET
@xframe_options_sameorigin
def delivery_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The message's HTML part as sent, for the detail page's sandboxed frame: no scripts,
    forms or same-origin rights, whatever the HTML holds."""
    delivery = _delivery_or_404(pk)
    response = render(request, "automations/deliveries/html.html", {"delivery": delivery})
    response["Content-Security-Policy"] = HTML_FRAME_POLICY
    return response


@read_outbox
@require_POST
def delivery_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _delivery_or_404(pk)
    try:
        outbox.delivery_cancel(delivery_id=delivery.pk, actor=request.user)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("Cancelled: this message will not be sent."))
    return redirect("delivery_detail", pk=delivery.pk)


@read_outbox
@require_POST
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _delivery_or_404(pk)
    try:
        copy, made = outbox.delivery_resend(delivery_id=delivery.pk, actor=request.user)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect("delivery_detail", pk=delivery.pk)
    if made:
        messages.success(
            request,
            _(
                "Sent again: this copy goes out now, after the same checks (consent, "
                "suppression, quiet hours and caps)."
            ),
        )
    else:
        messages.info(request, _("This message was sent again already: here is the copy."))
    return redirect("delivery_detail", pk=copy.pk)


# --- Sending policy -----------------------------------------------------------------------


@cache
def time_zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _policy_page(
    request: HttpRequest, form: PolicyForm, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"form": form, "time_zones": time_zone_names(), **extra}
    return render(request, "automations/deliveries/policy.html", context, status=status)


@manage_policy
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest) -> HttpResponse:
    current = policy()
    if request.method == "GET":
        return _policy_page(request, PolicyForm.for_policy(current), current=current)
    form = PolicyForm(request.POST)
    if not form.is_valid():
        return _policy_page(request, form, status=400, current=current)
    fields = {name: value for name, value in form.cleaned_data.items() if name != "version"}
    try:
        outbox.sending_policy_update(
            version=form.cleaned_data["version"], actor=request.user, **fields
        )
    except outbox.EditConflict as edit:
        # Keep what this person typed, over the saved version: saving again, knowingly, wins.
        kept = request.POST.copy()
        kept["version"] = str(edit.current.version)
        form = PolicyForm(kept)
        form.is_valid()
        form.add_error(
            None,
            _(
                "Someone saved the sending policy while you were editing it. Your changes are "
                "not saved yet: compare with the saved values below, then save again to "
                "replace them."
            ),
        )
        return _policy_page(
            request, form, status=409, current=edit.current, conflict=policy_initial(edit.current)
        )
    except ValidationError as error:
        for name, problems in error.message_dict.items():
            for problem in problems:
                form.add_error(name if name in form.fields else None, problem)
        return _policy_page(request, form, status=400, current=current)
    messages.success(request, _("Sending policy saved. It applies from the next send."))
    return redirect("delivery_policy")


# --- Suppressions -------------------------------------------------------------------------


@read_outbox
@require_http_methods(["GET", "POST"])
def suppression_list(request: HttpRequest) -> HttpResponse:
    """The list (GET) and adding an address by hand (POST)."""
    add = SuppressionForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if add.is_valid():
            channel, address = add.cleaned_data["channel"], add.cleaned_data["address"]
            existing = selectors.suppression_find(channel=channel, address=address)
            if existing is not None:
                messages.info(
                    request,
                    _("%(address)s is suppressed already (%(why)s).")
                    % {"address": address, "why": existing.get_reason_display()},
                )
            else:
                suppression_add(
                    channel=channel,
                    address=address,
                    reason=Suppression.Reason.MANUAL,
                    detail=add.cleaned_data["detail"]
                    or _("Added by %(who)s.") % {"who": outbox.actor_name(request.user)},
                )
                messages.success(
                    request,
                    _("%(address)s suppressed: nothing more is sent to it.") % {"address": address},
                )
            return redirect(f"{reverse('suppressions')}?{urlencode({'q': address})}")
        status = 400
    form = SuppressionFilterForm(request.GET or None)
    filters = form.filters()
    page = selectors.suppression_page(filters=filters, after=request.GET.get("after", ""))
    context = {
        "form": form,
        "add": add,
        "page": page,
        "filtered": filters.active,
        "paged": "after" in request.GET,
    }
    return render(request, "automations/deliveries/suppressions.html", context, status=status)


@read_outbox
@require_http_methods(["GET", "POST"])
def suppression_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first; POST lifts the suppression."""
    if request.method == "GET":
        row = get_object_or_404(Suppression, pk=pk)
        return render(request, "automations/deliveries/suppression_remove.html", {"row": row})
    removed = outbox.suppression_remove(suppression_id=pk)
    if removed is None:
        messages.info(request, _("This address was not suppressed (any more)."))
    else:
        messages.success(
            request,
            _("%(address)s is no longer suppressed: messages reach it again from the next send.")
            % {"address": removed.address},
        )
    return redirect("suppressions")
