"""The rep's queue: one lead, the recommended touch, a disposition, the next lead.

The page claims the next lead (a lease: nobody else is shown it) and renders its card. A
disposition or a skip is posted with htmx and answered with the next card, so the rep never
reloads; without JavaScript the same forms post and redirect back to /queue/. Object checks
are the services': a rep records only on a lead that is its own (or leased to it)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.context_processors import PermWrapper
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cadences.forms_queue import DispositionForm, SkipForm
from cadences.models import Enrollment, Rep, Touch
from cadences.selectors_queue import queue_card
from cadences.services.queue import Message, queue_claim_next, queue_skip, rep_of, touch_record
from growth.permissions import capability_required
from growth.roles import Capability
from leads.models.quality import LeadRating

DISPOSITIONS = [c for c in Touch.Disposition.choices if c[0] not in ("automatic", "sent")]


def _card(
    request: HttpRequest,
    *,
    rep: Rep | None = None,
    notice: str = "",
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The next lead for this rep (its current lease first), as the page or its card."""
    rep = rep or rep_of(request.user)
    enrollment = queue_claim_next(rep=rep)
    context: dict[str, Any] = {
        "card": queue_card(enrollment=enrollment, rep=rep) if enrollment else None,
        "dispositions": DISPOSITIONS,
        "bad_reasons": LeadRating.Reason.choices,
        "submit_key": uuid.uuid4().hex,
        "notice": notice,
        "errors": errors or {},
    }
    if request.htmx:  # type: ignore[attr-defined]
        # The card alone, with the only two things of the request it uses: the page's
        # context processors (the menu: a permission check per section) are not needed.
        context["csrf_token"] = get_token(request)
        context["perms"] = PermWrapper(request.user)
        html = get_template("cadences/queue/_card.html").render(context)
        return HttpResponse(html, status=status)
    return render(request, "cadences/queue/queue.html", context, status=status)


@capability_required(Capability.WORK_QUEUE)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    return _card(request)


def _done(request: HttpRequest, notice: str, rep: Rep | None = None) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        return _card(request, rep=rep, notice=notice)
    messages.success(request, notice)
    return redirect("queue")


def _refused(
    request: HttpRequest, problem: ValidationError, rep: Rep | None = None
) -> HttpResponse:
    errors = (
        problem.message_dict if hasattr(problem, "error_dict") else {"__all__": problem.messages}
    )
    if request.htmx:  # type: ignore[attr-defined]
        return _card(request, rep=rep, errors=errors, status=400)
    for text in (t for texts in errors.values() for t in texts):
        messages.error(request, text)
    return redirect("queue")


@capability_required(Capability.WORK_QUEUE)
@require_POST
def queue_touch(request: HttpRequest) -> HttpResponse:
    """Record what the rep did and show the next lead. A manual e-mail or SMS is sent from
    Growth first (the touch records it); a bad lead is rated with its reason for marketing."""
    form = DispositionForm(request.POST)
    if not form.is_valid():
        return _refused(request, ValidationError({k: list(v) for k, v in form.errors.items()}))
    data = form.cleaned_data
    rep = rep_of(request.user)
    message = None
    if data["send"]:
        message = Message(
            channel=data["channel"],
            subject=data["subject"],
            text=data["text"],
            template_id=data["template"],
        )
    try:
        recorded = touch_record(
            rep=rep,
            enrollment_id=data["enrollment"],
            disposition=Touch.Disposition.SENT if message else data["disposition"],
            notes=data["notes"],
            key=data["key"],
            message=message,
            bad_reason=data["bad_reason"]
            if data["disposition"] == Touch.Disposition.BAD_LEAD
            else "",
        )
    except ValidationError as problem:
        return _refused(request, problem, rep)
    done = recorded.touch
    name: str | None
    if recorded.created:  # recorded now: its enrollment and contact are at hand
        name = done.enrollment.contact.first_name
    else:
        name = (
            Enrollment.objects.filter(pk=done.enrollment_id)
            .values_list("contact__first_name", flat=True)
            .first()
        )
    return _done(
        request,
        _("Recorded: %(what)s%(who)s.")
        % {"what": done.get_disposition_display(), "who": f" ({name})" if name else ""},
        rep,
    )


@capability_required(Capability.WORK_QUEUE)
@require_POST
def queue_skip_view(request: HttpRequest) -> HttpResponse:
    form = SkipForm(request.POST)
    if not form.is_valid():
        return _refused(request, ValidationError(_("Say why you skip this lead.")))
    try:
        queue_skip(
            rep=rep_of(request.user),
            enrollment_id=form.cleaned_data["enrollment"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as problem:
        return _refused(request, problem)
    return _done(request, _("Skipped. It comes back later; your manager sees the reason."))
