"""The lead-quality loop: reps rate leads on the contact page; marketers read quality and
conversion by source, campaign and persona, and accept the points each rule has earned."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from growth.permissions import capability_required
from growth.roles import Capability
from leads import access
from leads import selectors_quality as selectors
from leads.forms_quality import AcceptAllForm, AcceptPointsForm, QualityFilterForm, RatingForm
from leads.models import Contact, ScoringRule
from leads.selectors_scoring import score_models
from leads.services import quality as services
from leads.services.scoring import EditConflict, scoring_rule_update

manage_scoring = capability_required(Capability.MANAGE_SCORING)
work_queue = capability_required(Capability.WORK_QUEUE)


# --- The report ------------------------------------------------------------------------------


@manage_scoring
@require_GET
def lead_quality(request: HttpRequest) -> HttpResponse:
    form = QualityFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else False
    if not valid:
        form = QualityFilterForm({"by": "source", "days": 90})
        form.is_valid()
    models = score_models()
    wanted = request.GET.get("model")
    model = next((m for m in models if str(m.pk) == wanted), None) if wanted else None
    if wanted and model is None:
        raise Http404(_("No score model with this number."))
    model = model or next((m for m in models if m.is_primary), models[0])
    start, end = form.window()
    context = {
        "form": form,
        "table": selectors.quality_by(form.dimension, start=start, end=end),
        "lift": selectors.rule_lift(model, start=start, end=end),
        "models": models,
        "model": model,
        "dimension": form.dimension,
        "min_contacts": selectors.MIN_CONTACTS,
        "min_conversions": selectors.MIN_CONVERSIONS,
    }
    status = 400 if form.is_bound and request.GET and not valid else 200
    return render(request, "leads/quality/report.html", context, status=status)


def _back_to_report(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("lead_quality")


@manage_scoring
@require_POST
def lead_quality_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a rule the points the report suggested (a normal rule edit: versioned, recomputed)."""
    rule = get_object_or_404(ScoringRule, pk=pk)
    form = AcceptPointsForm(request.POST)
    if not form.is_valid():
        for problem in form.errors.get_json_data().values():
            for item in problem:
                messages.error(request, item["message"])
        return redirect(_back_to_report(request))
    points = form.cleaned_data["points"]
    try:
        saved = scoring_rule_update(
            rule=rule, version=form.cleaned_data["version"], actor=request.user, points=points
        )
    except EditConflict:
        messages.error(
            request,
            _(
                "“%(name)s” was changed by someone else since this report was opened; "
                "nothing was saved. The figures below are current: decide again."
            )
            % {"name": rule.name},
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, f"{rule.name}: {message}")
    else:
        messages.success(
            request,
            _("“%(name)s” now gives %(points)+d points. Scores are being recomputed.")
            % {"name": saved.name, "points": saved.points},
        )
    return redirect(_back_to_report(request))


@manage_scoring
@require_POST
def lead_quality_accept_all(request: HttpRequest) -> HttpResponse:
    """Use every suggestion of the report at once: with the same evidence, accepting them
    one by one would shift the scale the later ones are computed on."""
    form = AcceptAllForm(request.POST)
    try:
        saved = services.rule_points_accept(changes=form.changes(), actor=request.user)
    except EditConflict as conflict:
        messages.error(
            request,
            _(
                "“%(name)s” was changed by someone else since this report was opened; "
                "nothing was saved. The figures below are current: decide again."
            )
            % {"name": conflict.current.name},
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(n)s rules now give their suggested points. Scores are being recomputed.")
            % {"n": len(saved)},
        )
    return redirect(_back_to_report(request))


# --- Rating a lead ----------------------------------------------------------------------------


def panel_context(
    request: HttpRequest, contact: Contact, form: RatingForm | None = None, saved: bool = False
) -> dict[str, Any]:
    ratings = selectors.ratings_of(contact.pk)
    current = ratings[0] if ratings and ratings[0].current else None
    return {
        "request": request,
        "contact": contact,
        "current": current,
        "history": ratings[1:] if current else ratings,
        "can_rate": can_rate(request.user),
        "form": form or RatingForm(),
        "saved": saved,
        "note_max": services.NOTE_MAX_LENGTH,
    }


def can_rate(user: Any) -> bool:
    # Whoever works leads, on the pages of the contacts it may open (a rep: its own leads).
    return bool(user.has_perm("growth.work_queue"))


@work_queue
@require_POST
def contact_rate(request: HttpRequest, pk: int) -> HttpResponse:
    access.check_contact(request.user, pk)
    contact = get_object_or_404(Contact, pk=pk, merged_into__isnull=True, erased_at__isnull=True)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.lead_rate(contact=contact, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
    ok = not form.errors
    if request.htmx:  # type: ignore[attr-defined]
        context = panel_context(request, contact, None if ok else form, saved=ok)
        return render(request, "leads/quality/_panel.html", context)
    if ok:
        messages.success(request, _("Your verdict on this lead is recorded."))
    else:
        for problem in form.errors.get_json_data().values():
            for item in problem:
                messages.error(request, item["message"])
    return redirect(reverse("contact_detail", args=[contact.pk]) + "#quality-panel")
