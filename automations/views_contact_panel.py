"""The contact page's messaging panel: what automations did with this person — journeys,
messages and why some were held back, survey answers, open tasks, discount codes."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from automations.models import Delivery, DiscountCode, JourneyRun, SurveyAnswer, TeamTask
from leads.access import contact_required
from leads.models import Contact

SHOWN = 10


@contact_required  # a rep opens the panel of its own leads
@require_GET
def contact_messaging_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """Five queries, however much the contact has."""
    if not Contact.objects.filter(pk=pk).exists():
        raise Http404
    context = {
        "contact_id": pk,
        "deliveries": list(
            Delivery.objects.filter(contact_id=pk)
            .select_related("journey")
            .order_by("-created_at", "-id")[:SHOWN]
        ),
        "runs": list(
            JourneyRun.objects.filter(contact_id=pk)
            .select_related("journey", "version")
            .order_by("-started_at", "-id")[:SHOWN]
        ),
        "answers": list(
            SurveyAnswer.objects.filter(contact_id=pk)
            .select_related("survey")
            .order_by("-answered_at", "-id")[:SHOWN]
        ),
        "tasks": list(
            TeamTask.objects.filter(contact_id=pk, status=TeamTask.Status.OPEN).order_by("-id")[
                :SHOWN
            ]
        ),
        "codes": list(
            DiscountCode.objects.filter(contact_id=pk)
            .select_related("campaign")
            .order_by("-issued_at", "-id")[:SHOWN]
        ),
    }
    return render(request, "automations/_contact_panel.html", context)
