"""Surveys: links a journey puts in a message, answers recorded from them, and the
follow-up of a detractor.

A link carries a signed token of (survey, contact, request key): the contact answers
without signing in, and nobody can answer for someone else. The request key (the delivery
or journey step that sent the link) makes an answer idempotent: a double click or a second
visit to the same link updates the one answer instead of adding another. Like the consent
links, survey links never expire (an old e-mail must still work; closing the survey is how
a marketer stops answers)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from automations.models import Survey, SurveyAnswer, TeamTask
from automations.services.inbox import task_complete, task_create
from automations.signals import survey_answered
from growth.roles import Role
from leads.models import Contact

COMMENT_MAX = 2000
DETRACTOR_MAX = 6  # NPS 0-6
PROMOTER_MIN = 9  # NPS 9-10
CSAT_SATISFIED_MIN = 4  # CSAT 4-5
TASK_ORIGIN = "survey"

_signer = signing.Signer(salt="growth.survey")


# --- Links ----------------------------------------------------------------------------------


def survey_token(*, survey_id: int, contact_id: int, key: str) -> str:
    return _signer.sign_object([survey_id, contact_id, key], compress=True)


def survey_token_read(token: str) -> tuple[int, int, str] | None:
    """(survey id, contact id, request key) of a genuine token, else None."""
    try:
        value = _signer.unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(part, int) for part in value[:2])
        or not isinstance(value[2], str)
    ):
        return None
    return value[0], value[1], value[2]


def survey_link(*, survey: Survey, contact: Contact, key: str) -> str:
    """The absolute URL of the answer page of `contact` for the request `key` (the delivery
    or journey step that sends it), for a journey to put in an e-mail or SMS."""
    token = survey_token(survey_id=survey.pk, contact_id=contact.pk, key=key)
    return settings.PUBLIC_URL + reverse("survey_answer", args=[token])


def survey_score_links(*, survey: Survey, contact: Contact, key: str) -> list[tuple[int, str]]:
    """(score, absolute URL) for every score of the scale: one click in the e-mail answers."""
    token = survey_token(survey_id=survey.pk, contact_id=contact.pk, key=key)
    return [
        (score, settings.PUBLIC_URL + reverse("survey_answer_score", args=[token, score]))
        for score in survey.scale
    ]


# --- Surveys --------------------------------------------------------------------------------

EDITABLE = ("name", "kind", "question", "thank_you", "active")


def survey_create(**fields: Any) -> Survey:
    survey = Survey(**{name: fields[name] for name in EDITABLE if name in fields})
    survey.full_clean()
    survey.save()
    return survey


def survey_update(*, survey: Survey, **fields: Any) -> Survey:
    with transaction.atomic():
        row = Survey.objects.select_for_update().get(pk=survey.pk)
        if "kind" in fields and fields["kind"] != row.kind and row.answers.exists():
            raise ValidationError(
                {
                    "kind": _(
                        "This survey has answers on its scale: the kind cannot change. "
                        "Create a new survey instead."
                    )
                }
            )
        for name in EDITABLE:
            if name in fields:
                setattr(row, name, fields[name])
        row.full_clean()
        row.save()
    return row


# --- Answers --------------------------------------------------------------------------------


def survey_answer(
    *,
    survey: Survey,
    contact: Contact,
    key: str,
    score: int,
    comment: str | None = None,
) -> SurveyAnswer:
    """Record `contact`'s answer to the request `key`: the first answer creates it, a later
    one changes its score (and the comment, when one is given). A detractor's NPS answer
    asks the sales managers to call; `survey_answered` goes out on commit when the score is
    new or changed."""
    if score not in survey.scale:
        raise ValidationError(
            {
                "score": _("The score must be a whole number from %(low)s to %(high)s.")
                % {"low": survey.scale.start, "high": survey.scale.stop - 1}
            }
        )
    if not survey.active:
        raise ValidationError(_("This survey is closed."))
    if comment is not None:
        comment = comment.strip()[:COMMENT_MAX]
    now = timezone.now()
    with transaction.atomic():
        # get_or_create retries as a read when a concurrent click inserted first.
        answer, created = SurveyAnswer.objects.get_or_create(
            survey=survey,
            contact=contact,
            request_key=key,
            defaults={
                "score": score,
                "comment": comment or "",
                "answered_at": now,
                "updated_at": now,
            },
        )
        changed = created
        if not created:
            answer = SurveyAnswer.objects.select_for_update().get(pk=answer.pk)
            fields = []
            if answer.score != score:
                answer.score = score
                fields.append("score")
                changed = True
            if comment is not None and comment != answer.comment:
                answer.comment = comment
                fields.append("comment")
            if fields:
                answer.updated_at = now
                answer.save(update_fields=[*fields, "updated_at"])
        if survey.kind == Survey.Kind.NPS:
            _detractor_follow_up(survey=survey, answer=answer, contact=contact)
        if changed:
            transaction.on_commit(
                partial(
                    survey_answered.send,
                    sender=SurveyAnswer,
                    survey_id=survey.pk,
                    contact_id=contact.pk,
                    score=answer.score,
                    answer_id=answer.pk,
                )
            )
    return answer


def detractor_task_key(answer: SurveyAnswer) -> str:
    return f"survey-answer:{answer.pk}:detractor"


def _detractor_follow_up(*, survey: Survey, answer: SurveyAnswer, contact: Contact) -> None:
    """A detractor (0-6) gets a call from a sales manager. The task follows the answer: a
    changed score or a comment added later updates its text, and an answer changed to 7 or
    more closes it (a misclick, or a link scanner that clicked every score)."""
    key = detractor_task_key(answer)
    if answer.score > DETRACTOR_MAX:
        task = TeamTask.objects.filter(key=key, status=TeamTask.Status.OPEN).first()
        if task is not None:
            with translation.override(settings.LANGUAGE_CODE):
                note = _("Closed by itself: the answer changed to %(score)s.") % {
                    "score": answer.score
                }
            TeamTask.objects.filter(pk=task.pk).update(body=f"{task.body}\n\n{note}".strip())
            task_complete(task=task, actor=None)
        return
    # The task is read by the team, not by the contact whose browser made this request.
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Call this detractor: %(name)s gave %(score)s") % {
            "name": contact.display_name,
            "score": answer.score,
        }
        lines = [
            _("Survey: %(name)s") % {"name": survey.name},
            _("Question: %(question)s") % {"question": survey.question},
            _("Score: %(score)s of 10") % {"score": answer.score},
        ]
        if answer.comment:
            lines.append(_("Comment: %(comment)s") % {"comment": answer.comment})
    body = "\n".join(lines)
    task = task_create(
        key=key,
        title=title,
        body=body,
        contact=contact,
        role=Role.SALES_MANAGER,
        origin=TASK_ORIGIN,
    )
    if task.status == TeamTask.Status.OPEN and (task.title != title[:200] or task.body != body):
        TeamTask.objects.filter(pk=task.pk).update(title=title[:200], body=body)


def answers_move_contact(*, survivor_id: int, merged_id: int) -> int:
    """After a merge (`leads.signals.contacts_merged`): the merged contact's answers belong
    to the survivor, except where the survivor answered the same request itself (its own
    answer wins; the other stays on the merged record)."""
    taken = SurveyAnswer.objects.filter(
        contact_id=survivor_id,
        survey_id=OuterRef("survey_id"),
        request_key=OuterRef("request_key"),
    )
    return (
        SurveyAnswer.objects.filter(contact_id=merged_id)
        .exclude(Exists(taken))
        .update(contact_id=survivor_id)
    )
