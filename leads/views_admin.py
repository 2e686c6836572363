"""Admin pages: sources (keys, secrets, endpoints) and the inbound log (dead letter)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from growth import navigation
from growth.audit import client_ip
from growth.permissions import capability_required
from growth.roles import Capability
from leads import selectors_admin as selectors
from leads.forms_admin import InboundFilterForm, SourceCreateForm, SourceEditForm
from leads.models import InboundDelivery, Source
from leads.services.inbound import inbound_retry
from leads.services.sources import source_create, source_rotate, source_update

manage_sources = capability_required(Capability.MANAGE_SOURCES)


def _endpoints(request: HttpRequest, source: Source) -> dict[str, str]:
    """Where this source sends data, as absolute URLs on the host the admin is using."""
    origin = f"{request.scheme}://{request.get_host()}"
    if source.kind == Source.Kind.TRACKING:
        return {"endpoint": origin + reverse("ingest", kwargs={"kind": "batch"}), "host": origin}
    if source.kind == Source.Kind.SHOPIFY:
        return {"webhook": origin + reverse("webhook_shopify", args=[source.slug])}
    if source.kind == Source.Kind.WOOCOMMERCE:
        return {"webhook": origin + reverse("webhook_woocommerce", args=[source.slug])}
    return {}


def _credential_page(request: HttpRequest, source: Source, credential: str) -> HttpResponse:
    """The one time a key or secret is shown: in this POST's response, never in a URL or the
    session, and marked no-store (never_cache on the caller) so no cache keeps a copy."""
    return render(
        request,
        "leads/sources/credential.html",
        {"source": source, "credential": credential, **_endpoints(request, source)},
    )


# --- Sources -------------------------------------------------------------------------------


@manage_sources
def source_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leads/sources/list.html",
        {"sources": selectors.source_list(), "section": navigation.get("sources")},
    )


@never_cache
@manage_sources
def source_new(request: HttpRequest) -> HttpResponse:
    form = SourceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source, credential = source_create(**form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _credential_page(request, source, credential)
    return render(request, "leads/sources/form.html", {"form": form, "creating": True})


@manage_sources
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    initial = {
        "name": source.name,
        "allowed_origins": source.allowed_origins,
        "is_active": source.is_active,
    }
    form = SourceEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            source_update(source=source, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Source %(name)s saved.") % {"name": source.name})
            return redirect("source_detail", pk=source.pk)
    context = {"source": source, "form": form, **_endpoints(request, source)}
    return render(request, "leads/sources/detail.html", context)


@never_cache
@manage_sources
def source_rotate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm (the old credential stops working at once); POST rotates."""
    source = get_object_or_404(Source, pk=pk)
    if source.kind == Source.Kind.IMPORT:
        raise Http404  # an import has nothing to rotate
    if request.method == "POST":
        rotated = source_rotate(source=source, actor=request.user, ip=client_ip(request))
        return _credential_page(request, source, rotated)
    return render(request, "leads/sources/rotate.html", {"source": source})


# --- Inbound -------------------------------------------------------------------------------


@manage_sources
def inbound_list(request: HttpRequest) -> HttpResponse:
    form = InboundFilterForm(request.GET or None)
    filters: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    after = selectors.Cursor.decode(request.GET.get("after"))
    deliveries, next_cursor = selectors.inbound_page(after=after, **filters)
    query = request.GET.copy()  # page links keep the filters
    query.pop("after", None)
    newest_query = query.urlencode()
    older_query = None
    if next_cursor is not None:
        query["after"] = next_cursor.encode()
        older_query = query.urlencode()
    context = {
        "form": form,
        "deliveries": deliveries,
        "older_query": older_query,
        "newest_query": newest_query if after is not None else None,
        "filtered": any(filters.values()),
        "source": filters.get("source"),
        "counts": selectors.inbound_status_counts(source=filters.get("source")),
        "section": navigation.get("inbound"),
    }
    return render(request, "leads/inbound/list.html", context)


@manage_sources
def inbound_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = selectors.inbound_detail(pk=pk)
    if delivery is None:
        raise Http404
    context = {
        "delivery": delivery,
        "body": selectors.delivery_body_text(delivery),
        "headers": selectors.delivery_headers_text(delivery),
        "can_retry": delivery.status == InboundDelivery.Status.FAILED,
    }
    return render(request, "leads/inbound/detail.html", context)


def _queued_message(request: HttpRequest, count: int) -> None:
    messages.success(
        request,
        ngettext(
            "%(count)d failed delivery queued for another try.",
            "%(count)d failed deliveries queued for another try.",
            count,
        )
        % {"count": count},
    )


@require_POST
@manage_sources
def inbound_retry_one(request: HttpRequest, pk: int) -> HttpResponse:
    _queued_message(request, inbound_retry(delivery_ids=[pk]))
    return redirect("inbound_detail", pk=pk)


@require_POST
@manage_sources
def inbound_retry_all(request: HttpRequest) -> HttpResponse:
    """Retry every failed delivery, or only the chosen source's when the list was filtered."""
    form = InboundFilterForm({"source": request.POST.get("source", "")})
    source = form.cleaned_data["source"] if form.is_valid() else None
    ids = None if source is None else selectors.inbound_failed_ids(source=source)
    _queued_message(request, inbound_retry(delivery_ids=ids))
    url = reverse("inbound")
    return redirect(f"{url}?source={source.pk}" if source else url)
