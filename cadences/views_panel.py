"""The contact page's sales panel: the contact's cadences (current and past, with outcome),
and every touch, newest first."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cadences.models import Enrollment, Touch
from growth.permissions import capability_required
from growth.roles import Capability
from leads.models import Contact

SHOWN = 20


@capability_required(Capability.VIEW_CONTACTS)
@require_GET
def contact_sales_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """Three queries, however much the contact has."""
    if not Contact.objects.filter(pk=pk).exists():
        raise Http404
    context = {
        "contact_id": pk,
        "enrollments": list(
            Enrollment.objects.filter(contact_id=pk)
            .select_related("cadence", "rep__user", "version")
            .order_by("-started_at", "-id")[:SHOWN]
        ),
        "touches": list(
            Touch.objects.filter(contact_id=pk)
            .select_related("rep__user", "delivery")
            .order_by("-at", "-id")[:SHOWN]
        ),
    }
    return render(request, "cadences/_contact_panel.html", context)
