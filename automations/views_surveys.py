"""Surveys: the public answer page a contact reaches from an e-mail or SMS link, and the
marketer's pages (list, create, edit, results).

The answer page needs no sign-in: the signed token in the URL says which survey, contact
and request it answers. A click on a score in the e-mail answers at once (GET
/s/<token>/<score>/); the page then offers a comment. A HEAD request (link checkers) does
not answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from automations import selectors_engagement as selectors
from automations.forms_engagement import AnswerCommentForm, SurveyForm
from automations.models import Survey, SurveyAnswer
from automations.services import surveys as services
from growth.permissions import capability_required
from growth.roles import Capability
from leads.models import Contact

manage_surveys = capability_required(Capability.MANAGE_JOURNEYS)
PERIODS = {"30": 30, "90": 90, "365": 365}
ANSWER_TEMPLATE = "automations/surveys/answer.html"


# --- The public answer page -----------------------------------------------------------------


def _request(token: str) -> tuple[Survey, Contact, str]:
    """The survey, contact and request key a token names; 404 for anything else."""
    parts = services.survey_token_read(token)
    if parts is None:
        raise Http404(_("This survey link is not valid."))
    survey_id, contact_id, key = parts
    survey = Survey.objects.filter(pk=survey_id).first()
    contact = Contact.objects.filter(pk=contact_id, erased_at__isnull=True).first()
    if survey is None or contact is None:
        raise Http404(_("This survey link is not valid any more."))
    seen = {contact.pk}
    while contact.merged_into_id and contact.merged_into_id not in seen:
        # The person is now known under another record: the answer goes there.
        seen.add(contact.merged_into_id)
        contact = Contact.objects.get(pk=contact.merged_into_id)
    return survey, contact, key


def _scale_labels(survey: Survey) -> tuple[str, str]:
    if survey.kind == Survey.Kind.NPS:
        return _("0 = not at all likely"), _("10 = extremely likely")
    return _("1 = very dissatisfied"), _("5 = very satisfied")


def _page(
    request: HttpRequest,
    token: str,
    survey: Survey,
    answer: SurveyAnswer | None,
    *,
    state: str,
    error: str = "",
    status: int = 200,
    form: AnswerCommentForm | None = None,
) -> HttpResponse:
    low, high = _scale_labels(survey)
    return render(
        request,
        ANSWER_TEMPLATE,
        {
            "survey": survey,
            "token": token,
            "answer": answer,
            "state": state,  # ask, thanks, commented, closed, invalid
            "error": error,
            "form": form,
            "scale": list(survey.scale),
            "low_label": low,
            "high_label": high,
        },
        status=status,
    )


def _score_error(survey: Survey, raw: str) -> str:
    return _(
        "“%(score)s” is not a score on this survey's scale: choose from %(low)s to %(high)s."
    ) % {
        "score": raw[:20],
        "low": survey.scale.start,
        "high": survey.scale.stop - 1,
    }


def _parse_score(survey: Survey, raw: str) -> int | None:
    try:
        score = int(raw.strip())
    except ValueError:
        return None
    return score if score in survey.scale else None


def _current(survey: Survey, contact: Contact, key: str) -> SurveyAnswer | None:
    return SurveyAnswer.objects.filter(survey=survey, contact=contact, request_key=key).first()


@never_cache  # an answer page is per person and changes with each click
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    survey, contact, key = _request(token)
    if not survey.active:
        return _page(request, token, survey, None, state="closed", status=410)
    if request.method == "GET":
        answer = _current(survey, contact, key)
        return _page(
            request,
            token,
            survey,
            answer,
            state="ask",
            form=AnswerCommentForm(initial={"comment": answer.comment}) if answer else None,
        )
    raw = request.POST.get("score", "")
    score = _parse_score(survey, raw)
    if score is None:
        return _page(
            request,
            token,
            survey,
            _current(survey, contact, key),
            state="invalid",
            error=_score_error(survey, raw),
            status=400,
        )
    form = AnswerCommentForm(request.POST)
    if not form.is_valid():
        return _page(
            request,
            token,
            survey,
            _current(survey, contact, key),
            state="thanks",
            form=form,
            status=400,
        )
    answer = services.survey_answer(
        survey=survey,
        contact=contact,
        key=key,
        score=score,
        comment=form.cleaned_data["comment"],
    )
    return _page(request, token, survey, answer, state="commented")


@never_cache
@require_GET
def survey_answer_score(request: HttpRequest, token: str, score: str) -> HttpResponse:
    survey, contact, key = _request(token)
    if not survey.active:
        return _page(request, token, survey, None, state="closed", status=410)
    value = _parse_score(survey, score)
    if value is None:
        return _page(
            request,
            token,
            survey,
            _current(survey, contact, key),
            state="invalid",
            error=_score_error(survey, score),
            status=400,
        )
    answer = services.survey_answer(survey=survey, contact=contact, key=key, score=value)
    form = AnswerCommentForm(initial={"score": value, "comment": answer.comment})
    return _page(request, token, survey, answer, state="thanks", form=form)


# --- The marketer's pages -------------------------------------------------------------------


@manage_surveys
@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    return render(request, "automations/surveys/list.html", {"rows": selectors.survey_list()})


def _form_page(request: HttpRequest, survey: Survey | None) -> HttpResponse:
    form = SurveyForm(request.POST or None, instance=survey)
    if request.method == "POST" and form.is_valid():
        fields: dict[str, Any] = form.cleaned_data
        try:
            if survey is None:
                saved = services.survey_create(**fields)
            else:
                saved = services.survey_update(survey=survey, **fields)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Survey “%(name)s” saved.") % {"name": saved.name})
            return redirect("survey_results", pk=saved.pk)
    return render(
        request,
        "automations/surveys/form.html",
        {"form": form, "survey": survey},
        status=400 if form.errors else 200,
    )


@manage_surveys
@require_http_methods(["GET", "POST"])
def survey_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@manage_surveys
@require_http_methods(["GET", "POST"])
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, get_object_or_404(Survey, pk=pk))


@manage_surveys
@require_GET
def survey_results(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    period = request.GET.get("days", "")
    days = PERIODS.get(period)
    since = timezone.now() - timedelta(days=days) if days else None
    results = selectors.survey_results(survey=survey, since=since)
    return render(
        request,
        "automations/surveys/results.html",
        {
            "survey": survey,
            "results": results,
            "period": period if days else "",
            "periods": list(PERIODS),
        },
    )
