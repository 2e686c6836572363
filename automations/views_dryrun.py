"""The dry-run page: a draft replayed over the last days of real data, nothing written."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from automations.journeys.dry_run import MAX_CONTACTS, journey_dry_run
from automations.models import Journey
from growth.permissions import capability_required
from growth.roles import Capability

DAYS = (1, 3, 7, 14, 30)


@capability_required(Capability.MANAGE_JOURNEYS)
@require_GET
def journey_dry_run_page(request: HttpRequest, pk: int) -> HttpResponse:
    journey = get_object_or_404(Journey, pk=pk)
    try:
        days = int(request.GET.get("days", "7"))
    except ValueError:
        days = 7
    status = 200
    if days not in DAYS:
        days, status = 7, 400
    result = journey_dry_run(journey=journey, days=days)
    return render(
        request,
        "automations/journeys_dryrun.html",
        {
            "journey": journey,
            "result": result,
            "held": result.held.most_common(),  # a Counter's "items" is a key to templates
            "days": days,
            "choices": DAYS,
            "cap": MAX_CONTACTS,
        },
        status=status,
    )
