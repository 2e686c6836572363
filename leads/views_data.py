"""Admin data work on one contact: merge two records by hand, export everything, erase."""

from __future__ import annotations

import json

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from growth.audit import client_ip
from growth.permissions import capability_required
from growth.roles import Capability
from leads.models import Contact
from leads.services.identity import PROFILE_FIELDS, contact_merge
from leads.services.privacy import contact_erase, contact_export

manage_data = capability_required(Capability.MANAGE_DATA)


def _live(pk: int) -> Contact:
    return get_object_or_404(Contact, pk=pk, merged_into__isnull=True, erased_at__isnull=True)


def _with_counts(pks: list[int]) -> dict[int, Contact]:
    contacts = Contact.objects.filter(pk__in=pks).annotate(
        n_events=Count("events", distinct=True),
        n_orders=Count("orders", distinct=True),
        n_identities=Count("identities", distinct=True),
    )
    return {c.pk: c for c in contacts}


def _find_other(query: str, exclude: int) -> Contact | None:
    query = query.strip()
    if not query:
        return None
    match = Q(email__iexact=query) | Q(phone=query)
    if query.lstrip("#").isdigit():
        match |= Q(pk=int(query.lstrip("#")))
    return (
        Contact.objects.filter(match, merged_into__isnull=True, erased_at__isnull=True)
        .exclude(pk=exclude)
        .order_by("pk")
        .first()
    )


@manage_data
def contact_merge_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Side by side: both records, what the merged one will hold, and what moves."""
    contact = _live(pk)
    query = request.GET.get("other", "")
    other = _find_other(query, exclude=contact.pk)
    context: dict[str, object] = {"contact": contact, "query": query, "other": other}
    if other is not None:
        both = _with_counts([contact.pk, other.pk])
        context["left"], context["right"] = both[contact.pk], both[other.pk]
        context["rows"] = [
            (
                field,
                getattr(contact, field),
                getattr(other, field),
                getattr(contact, field) or getattr(other, field),
            )
            for field in PROFILE_FIELDS
        ]
    elif query:
        context["not_found"] = True
    return render(request, "leads/contacts/merge.html", context)


@manage_data
@require_POST
def contact_merge_run(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _live(pk)
    other = _live(int(request.POST.get("other", "0") or 0))
    if other.pk == contact.pk:
        messages.error(request, _("Pick another contact to merge with."))
        return redirect("contact_merge", pk=pk)
    keep_other = request.POST.get("survivor") == str(other.pk)
    survivor, merged = (other, contact) if keep_other else (contact, other)
    with transaction.atomic():
        contact_merge(
            survivor=survivor,
            merged=merged,
            reason=_("merged by hand by %(user)s") % {"user": request.user},
            actor=request.user,
        )
    messages.success(
        request, _("Contact #%(merged)s was merged into this one.") % {"merged": merged.pk}
    )
    return redirect("contact_detail", pk=survivor.pk)


@manage_data
@require_POST
def contact_export_json(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk, merged_into__isnull=True)
    record = contact_export(
        contact=contact, origin="ui", requested_by=request.user, ip=client_ip(request)
    )
    response = HttpResponse(
        json.dumps(record.export, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    response["Cache-Control"] = "no-store"
    return response


@manage_data
def contact_erase_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _live(pk)
    if request.method == "POST":
        if request.POST.get("confirm") != "ERASE":
            messages.error(request, _("Type ERASE to confirm: erasure cannot be undone."))
        else:
            contact_erase(
                contact=contact, origin="ui", requested_by=request.user, ip=client_ip(request)
            )
            messages.success(
                request, _("The contact's personal data was erased; its orders stay, anonymised.")
            )
            return redirect("contact_detail", pk=contact.pk)
    return render(request, "leads/contacts/erase.html", {"contact": contact})
