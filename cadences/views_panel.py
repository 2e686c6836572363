"""The contact page's sales panel: the contact's cadences (current and past, with outcome),
and every touch, newest first."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cadences.models import Cadence, Enrollment, Touch
from cadences.services.enrollment import OPEN, enrollment_start
from growth.permissions import capability_required
from growth.roles import Capability, permission_name
from leads.access import contact_required
from leads.models import Contact

SHOWN = 20


@contact_required  # a rep opens the panel of its own leads
@require_GET
def contact_sales_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """Three queries, however much the contact has (four for a sales manager, who is
    offered the active cadences to enroll the contact in)."""
    if not Contact.objects.filter(pk=pk).exists():
        raise Http404
    can_enroll = request.user.has_perm(permission_name(Capability.MANAGE_CADENCES))
    context = {
        "cadences": list(Cadence.objects.filter(status=Cadence.Status.ACTIVE).order_by("name"))
        if can_enroll
        else [],
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


@capability_required(Capability.MANAGE_CADENCES)
@require_POST
def contact_enroll(request: HttpRequest, pk: int) -> HttpResponse:
    """A sales manager puts this contact on a cadence from its page."""
    contact = get_object_or_404(Contact, pk=pk, merged_into__isnull=True, erased_at__isnull=True)
    raw = request.POST.get("cadence", "")
    cadence = (
        Cadence.objects.filter(pk=int(raw), status=Cadence.Status.ACTIVE).first()
        if raw.isdigit() and len(raw) < 12
        else None
    )
    if cadence is None:
        messages.error(request, _("Choose an active cadence."))
        return redirect("contact_detail", pk)
    current = Enrollment.objects.filter(contact=contact, status__in=OPEN).select_related("cadence")
    if (on := current.first()) is not None:
        messages.error(
            request,
            _("%(name)s is already on “%(cadence)s”: stop that enrollment first.")
            % {"name": contact.display_name, "cadence": on.cadence.name},
        )
        return redirect("contact_detail", pk)
    now = timezone.now()
    started = enrollment_start(
        contact=contact, key=f"manual:{cadence.pk}:{pk}:{now.timestamp()}", cadence=cadence, now=now
    )
    if started is None:
        messages.error(request, _("The contact could not be enrolled; reload and try again."))
    else:
        messages.success(
            request,
            _("%(name)s is on “%(cadence)s”, with %(rep)s.")
            % {
                "name": contact.display_name,
                "cadence": cadence.name,
                "rep": started.rep or _("the shared pool"),
            },
        )
    return redirect("contact_detail", pk)
