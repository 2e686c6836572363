"""Reads for the engagement pages: a user's inbox, survey results and discount campaigns.

Every inbox read is scoped to what the user may see (tasks assigned to them or to one of
their roles) before anything else, so no page can forget the object check."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Avg, Case, Count, F, FloatField, Q, QuerySet, Value, When

from automations.models import DiscountCampaign, DiscountCode, Survey, SurveyAnswer, TeamTask
from automations.services.inbox import task_visible_q, user_roles
from automations.services.surveys import CSAT_SATISFIED_MIN, DETRACTOR_MAX, PROMOTER_MIN

INBOX_PAGE = 50
COMMENTS_SHOWN = 20
CODES_SHOWN = 50

# --- Inbox ----------------------------------------------------------------------------------


def inbox_tasks(*, user: Any, roles: list[str] | None = None) -> QuerySet[TeamTask]:
    """Every task the user may see and complete."""
    return TeamTask.objects.filter(task_visible_q(user, roles))


@dataclass(frozen=True)
class InboxPage:
    tasks: list[TeamTask]
    open_count: int
    done_count: int
    page: int
    has_next: bool


def inbox_page(*, user: Any, status: str = "", page: int = 1) -> InboxPage:
    """The user's tasks, open first (soonest due, then oldest), then done (latest first);
    `status` "open" or "done" shows one kind. Three queries: roles, counts, the page."""
    roles = user_roles(user)
    scope = inbox_tasks(user=user, roles=roles)
    counts = scope.aggregate(
        open=Count("id", filter=Q(status=TeamTask.Status.OPEN)),
        done=Count("id", filter=Q(status=TeamTask.Status.DONE)),
    )
    rows = scope.select_related("contact", "assignee", "done_by")
    if status in TeamTask.Status.values:
        rows = rows.filter(status=status)
    rows = rows.annotate(
        is_done=Case(When(status=TeamTask.Status.DONE, then=Value(1)), default=Value(0))
    ).order_by(
        "is_done",
        F("due_at").asc(nulls_last=True),
        F("done_at").desc(nulls_last=True),
        "created_at",
        "id",
    )
    page = max(1, page)
    start = (page - 1) * INBOX_PAGE
    tasks: list[TeamTask] = list(rows[start : start + INBOX_PAGE + 1])
    return InboxPage(
        tasks=tasks[:INBOX_PAGE],
        open_count=counts["open"],
        done_count=counts["done"],
        page=page,
        has_next=len(tasks) > INBOX_PAGE,
    )


def inbox_task(*, user: Any, pk: int) -> TeamTask | None:
    """One task, only when the user may see it."""
    return inbox_tasks(user=user).select_related("contact", "done_by").filter(pk=pk).first()


def inbox_unread_count(*, user: Any) -> int:
    """How many tasks wait for the user (open, for them or their roles): the menu badge."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return inbox_tasks(user=user).filter(status=TeamTask.Status.OPEN).count()


# --- Surveys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyResults:
    kind: str
    answers: int
    distribution: list[tuple[int, int, int]]  # score, answers, % of answers
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    nps: int | None = None  # % promoters - % detractors, -100 … 100
    csat_average: float | None = None
    csat_satisfied: int | None = None  # % of answers 4 or 5
    comments: list[SurveyAnswer] = field(default_factory=list)


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def survey_results(*, survey: Survey, since: datetime | None = None) -> SurveyResults:
    """NPS or CSAT of a survey (answers from `since` on), the distribution of scores and the
    latest comments. Two queries: one GROUP BY score, one for the comments."""
    answers = SurveyAnswer.objects.filter(survey=survey)
    if since is not None:
        answers = answers.filter(answered_at__gte=since)
    by_score = dict(
        answers.values_list("score").annotate(n=Count("id")).order_by().values_list("score", "n")
    )
    total = sum(by_score.values())
    distribution = [
        (score, by_score.get(score, 0), _percent(by_score.get(score, 0), total))
        for score in survey.scale
    ]
    comments = list(
        answers.exclude(comment="")
        .select_related("contact")
        .order_by("-updated_at", "-id")[:COMMENTS_SHOWN]
    )
    if survey.kind == Survey.Kind.NPS:
        promoters = sum(n for score, n in by_score.items() if score >= PROMOTER_MIN)
        detractors = sum(n for score, n in by_score.items() if score <= DETRACTOR_MAX)
        return SurveyResults(
            kind=survey.kind,
            answers=total,
            distribution=distribution,
            promoters=promoters,
            detractors=detractors,
            passives=total - promoters - detractors,
            nps=_percent(promoters, total) - _percent(detractors, total) if total else None,
            comments=comments,
        )
    satisfied = sum(n for score, n in by_score.items() if score >= CSAT_SATISFIED_MIN)
    return SurveyResults(
        kind=survey.kind,
        answers=total,
        distribution=distribution,
        csat_average=(
            round(sum(score * n for score, n in by_score.items()) / total, 2) if total else None
        ),
        csat_satisfied=_percent(satisfied, total) if total else None,
        comments=comments,
    )


@dataclass(frozen=True)
class SurveyRow:
    survey: Survey
    answers: int
    headline: str  # "NPS 34" / "CSAT 4.2": the figure the list shows


def survey_list() -> list[SurveyRow]:
    """Every survey with its answer count and headline figure: one grouped query."""
    rows = Survey.objects.annotate(
        n=Count("answers"),
        promoters=Count("answers", filter=Q(answers__score__gte=PROMOTER_MIN)),
        detractors=Count("answers", filter=Q(answers__score__lte=DETRACTOR_MAX)),
        average=Avg("answers__score", output_field=FloatField()),
    ).order_by("-active", "name")
    result = []
    for survey in rows:
        n = survey.n
        if not n:
            headline = ""
        elif survey.kind == Survey.Kind.NPS:
            nps = _percent(survey.promoters, n) - _percent(survey.detractors, n)
            headline = f"NPS {nps}"
        else:
            headline = f"CSAT {survey.average:.1f}"
        result.append(SurveyRow(survey=survey, answers=n, headline=headline))
    return result


def survey_answers_for_contact(*, contact_id: int, limit: int = 20) -> list[SurveyAnswer]:
    """A contact's latest answers, for its timeline."""
    return list(
        SurveyAnswer.objects.filter(contact_id=contact_id)
        .select_related("survey")
        .order_by("-answered_at", "-id")[:limit]
    )


# --- Discount codes -------------------------------------------------------------------------


def campaign_list() -> QuerySet[DiscountCampaign]:
    """Every campaign with counts of its codes: total, issued, redeemed and free (not given
    to anyone yet: what is left in a pool), in one grouped query."""
    return DiscountCampaign.objects.annotate(
        total=Count("codes"),
        issued=Count("codes", filter=Q(codes__issued_at__isnull=False)),
        redeemed=Count("codes", filter=Q(codes__redeemed_at__isnull=False)),
        free=Count("codes", filter=Q(codes__issue_key__isnull=True)),
    ).order_by("name")


def campaign_with_counts(*, pk: int) -> DiscountCampaign | None:
    return campaign_list().filter(pk=pk).first()


def campaign_codes(*, campaign: DiscountCampaign, limit: int = CODES_SHOWN) -> list[DiscountCode]:
    """The latest codes given out (then the newest uploaded), with contact and order."""
    return list(
        DiscountCode.objects.filter(campaign=campaign)
        .select_related("contact", "order")
        .order_by(F("issued_at").desc(nulls_last=True), "-id")[:limit]
    )
