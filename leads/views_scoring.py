"""Scoring pages: rules per score model (list, create, edit with a what-if preview, detail),
score models, the full recompute with its progress, and the "why this score?" panel of a
contact."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from growth import navigation
from growth.permissions import capability_required
from growth.roles import Capability
from leads import access
from leads import selectors_scoring as selectors
from leads.forms_scoring import (
    CONTACT_PROPERTY_HINTS,
    EVENT_PROPERTY_HINTS,
    ModelForm,
    RuleFilterForm,
    RuleForm,
    apply_service_errors,
    bind_rule_forms,
    clean_rule_forms,
)
from leads.models import Contact, ScoreModel, ScoreRecompute, ScoringRule
from leads.services import scoring as services
from leads.services.scoring_conditions import condition_describe

manage_scoring = capability_required(Capability.MANAGE_SCORING)


def _model_from(request: HttpRequest, models: list[ScoreModel]) -> ScoreModel:
    wanted = request.GET.get("model") or request.POST.get("model")
    if wanted:
        for model in models:
            if str(model.pk) == wanted:
                return model
        raise Http404(_("No score model with this number."))
    return next((m for m in models if m.is_primary), models[0])


def _recompute_context() -> dict[str, Any]:
    recompute = selectors.score_recompute_latest()
    return {
        "recompute": recompute,
        "resumable": recompute is not None and services.score_recompute_resumable(recompute),
    }


@manage_scoring
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    models = selectors.score_models()
    model = _model_from(request, models)
    form = RuleFilterForm(request.GET or None)
    filters = (
        selectors.RuleFilters(**form.cleaned_data) if form.is_valid() else selectors.RuleFilters()
    )
    rules = selectors.scoring_rules(model=model, filters=filters)
    unseen = selectors.event_names_unseen([r.event_name for r in rules])
    context = {
        "section": navigation.get("scoring"),
        "models": models,
        "model": model,
        "form": form,
        "rules": [
            {
                "rule": rule,
                "conditions": [condition_describe(c) for c in rule.conditions],
                "unseen": rule.event_name in unseen,
            }
            for rule in rules
        ],
        "filtered": any(form.cleaned_data.values()) if form.is_valid() else False,
        **_recompute_context(),
    }
    return render(request, "leads/scoring/rules.html", context)


def _rule_or_404(pk: int) -> ScoringRule:
    return get_object_or_404(ScoringRule.objects.select_related("model", "updated_by"), pk=pk)


def _editor(
    request: HttpRequest,
    *,
    form: RuleForm,
    conditions: Any,
    model: ScoreModel,
    rule: ScoringRule | None,
    conflict: ScoringRule | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "conditions": conditions,
        "model": model,
        "rule": rule,
        "conflict": conflict,
        "conflict_conditions": [condition_describe(c) for c in conflict.conditions]
        if conflict
        else [],
        "event_names": selectors.event_names_known(),
        "property_hints": EVENT_PROPERTY_HINTS + CONTACT_PROPERTY_HINTS,
    }
    return render(request, "leads/scoring/rule_form.html", context, status=status)


@manage_scoring
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    models = selectors.score_models()
    model = _model_from(request, models)
    form, conditions = bind_rule_forms(request.POST if request.method == "POST" else None, None)
    if request.method == "POST":
        cleaned = clean_rule_forms(form, conditions)
        if cleaned is not None:
            try:
                rule = services.scoring_rule_create(
                    model=model, actor=request.user, conditions=cleaned, **form.fields_data()
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Rule “%(name)s” saved. Scores are being recomputed.") % {"name": rule.name},
                )
                return redirect("scoring_rule_detail", pk=rule.pk)
        return _editor(
            request, form=form, conditions=conditions, model=model, rule=None, status=400
        )
    return _editor(request, form=form, conditions=conditions, model=model, rule=None)


@manage_scoring
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(pk)
    form, conditions = bind_rule_forms(request.POST if request.method == "POST" else None, rule)
    if request.method == "POST":
        cleaned = clean_rule_forms(form, conditions)
        if cleaned is not None:
            try:
                saved = services.scoring_rule_update(
                    rule=rule,
                    version=form.cleaned_data.get("version") or 0,
                    actor=request.user,
                    conditions=cleaned,
                    **form.fields_data(),
                )
            except services.EditConflict as conflict:
                current = conflict.current
                # Keep what this user typed; the next save, made knowingly, wins.
                data = request.POST.copy()
                data["version"] = str(current.version)
                form, conditions = bind_rule_forms(data, rule)
                clean_rule_forms(form, conditions)
                form.add_error(
                    None,
                    _(
                        "%(who)s saved this rule while you were editing it. Your changes are "
                        "not saved yet: compare with their version below, then save again to "
                        "replace it."
                    )
                    % {"who": _who(current)},
                )
                return _editor(
                    request,
                    form=form,
                    conditions=conditions,
                    model=rule.model,
                    rule=rule,
                    conflict=current,
                    status=409,
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Rule “%(name)s” saved.") % {"name": saved.name}
                    + (" " + _("Scores are being recomputed.") if saved.ledger_stale else ""),
                )
                return redirect("scoring_rule_detail", pk=saved.pk)
        return _editor(
            request, form=form, conditions=conditions, model=rule.model, rule=rule, status=400
        )
    return _editor(request, form=form, conditions=conditions, model=rule.model, rule=rule)


def _who(rule: ScoringRule) -> str:
    user = rule.updated_by
    if user is None:
        return _("Someone")
    return user.get_full_name() or user.username


@manage_scoring
@require_POST
def rule_preview(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The what-if of the form as it stands (htmx partial): nothing is saved."""
    original = _rule_or_404(pk) if pk is not None else None
    models = selectors.score_models()
    model = original.model if original else _model_from(request, models)
    form, conditions = bind_rule_forms(request.POST, original)
    cleaned = clean_rule_forms(form, conditions)
    context: dict[str, Any] = {"hints": _hints(form, conditions)}
    if cleaned is not None:
        candidate = ScoringRule(pk=original.pk if original else None, model=model)
        for field, value in form.fields_data().items():
            setattr(candidate, field, value)
        candidate.conditions = cleaned
        try:
            services.scoring_rule_clean(candidate)
        except ValidationError as error:
            context["problems"] = [m for ms in error.message_dict.values() for m in ms]
        else:
            context["what_if"] = selectors.scoring_rule_what_if(rule=candidate, original=original)
            if candidate.kind == ScoringRule.Kind.BEHAVIOUR:
                context["unseen"] = bool(selectors.event_names_unseen([candidate.event_name]))
    return render(request, "leads/scoring/_what_if.html", context)


def _hints(form: RuleForm, conditions: Any) -> list[str]:
    """What keeps the preview from showing, leaving out fields not filled in yet (the form
    itself says so when it is submitted)."""
    hints = []
    for field, errors in form.errors.as_data().items():
        label = form.fields[field].label if field in form.fields else ""
        hints += [
            f"{label}: {m}" if label else m
            for e in errors
            if e.code != "required"
            for m in e.messages
        ]
    for n, row in enumerate(conditions.forms, start=1):
        for field, errors in row.errors.items():
            hints += [
                _("Condition %(n)s, %(field)s: %(message)s")
                % {"n": n, "field": field, "message": m}
                for m in errors
            ]
    return hints


@manage_scoring
@require_GET
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(pk)
    context = {
        "rule": rule,
        "conditions": [condition_describe(c) for c in rule.conditions],
        "stats": selectors.scoring_rule_stats(rule=rule),
        "unseen": rule.kind == ScoringRule.Kind.BEHAVIOUR
        and bool(selectors.event_names_unseen([rule.event_name])),
        **_recompute_context(),
    }
    return render(request, "leads/scoring/rule_detail.html", context)


@manage_scoring
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(pk)
    try:
        version = int(request.POST.get("version", "0"))
    except ValueError:
        version = 0
    try:
        services.scoring_rule_delete(rule=rule, version=version, actor=request.user)
    except services.EditConflict as conflict:
        messages.error(
            request,
            _("%(who)s changed this rule meanwhile; look at it again before deleting it.")
            % {"who": _who(conflict.current)},
        )
        return redirect("scoring_rule_detail", pk=rule.pk)
    messages.success(
        request, _("Rule “%(name)s” deleted. Scores are being recomputed.") % {"name": rule.name}
    )
    return redirect(f"{_url('scoring')}?model={rule.model_id}")


def _url(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


# --- Models --------------------------------------------------------------------------------


@manage_scoring
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    models = selectors.score_models()
    counts = selectors.rule_counts()
    return render(
        request,
        "leads/scoring/models.html",
        {"models": [(m, counts.get(m.pk, 0)) for m in models]},
    )


@manage_scoring
@require_http_methods(["GET", "POST"])
def model_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    model = get_object_or_404(ScoreModel, pk=pk) if pk is not None else None
    if request.method == "POST":
        form = ModelForm(request.POST)
        if form.is_valid():
            try:
                saved = services.score_model_save(
                    model=model,
                    version=form.cleaned_data.get("version"),
                    actor=request.user,
                    **form.fields_data(),
                )
            except services.EditConflict:
                form.add_error(
                    None,
                    _(
                        "Someone saved this model while you were editing it. Reload the page "
                        "to see their version."
                    ),
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Score model “%(name)s” saved.") % {"name": saved.name})
                return redirect("scoring_models")
        return render(
            request, "leads/scoring/model_form.html", {"form": form, "model": model}, status=400
        )
    form = ModelForm.for_model(model) if model else ModelForm()
    return render(request, "leads/scoring/model_form.html", {"form": form, "model": model})


# --- Recompute -----------------------------------------------------------------------------


@manage_scoring
@require_POST
def recompute_start(request: HttpRequest) -> HttpResponse:
    recompute = services.score_recompute_request(
        kind=ScoreRecompute.Kind.MANUAL, requested_by=request.user
    )
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "leads/scoring/_recompute.html", _recompute_context())
    messages.success(request, _("Recompute queued: a worker starts it in a moment."))
    return redirect(request.POST.get("next") or _url("scoring") + f"#recompute-{recompute.pk}")


@manage_scoring
@require_http_methods(["GET", "POST"])
def recompute_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment the pages poll; POST resumes a stopped recompute."""
    recompute = get_object_or_404(ScoreRecompute, pk=pk)
    if request.method == "POST":
        try:
            services.score_recompute_resume(recompute=recompute)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    return render(request, "leads/scoring/_recompute.html", _recompute_context())


# --- The contact page's panel ----------------------------------------------------------------


@access.contact_required
@require_GET
def contact_score_panel(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    explanation = selectors.contact_score_explanation(contact=contact)
    return render(
        request,
        "leads/scoring/_contact_panel.html",
        {"contact": contact, "explanation": explanation},
    )
