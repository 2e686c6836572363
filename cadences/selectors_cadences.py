"""Reads of the sales manager's cadence pages: the list with its figures, one cadence with
its versions and enrollments, the reps and teams. Every function reads in a fixed number of
queries, whatever the number of cadences, reps or enrollments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower

from automations.models import MessageTemplate
from automations.models.delivery import Channel
from cadences.models import Cadence, CadenceVersion, Enrollment, Rep, SlaPolicy, Step, Team
from growth.models import User
from growth.roles import Role
from leads.models import Contact, Segment

E = Enrollment
OPEN = [E.Status.ACTIVE, E.Status.PAUSED]
ENROLLMENT_PAGE = 50


# --- The list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CadenceRow:
    cadence: Cadence
    steps: int  # of the live version
    active: int
    ended: int
    qualified: int  # ended as SQL / meeting booked

    @property
    def live_number(self) -> int | None:
        return self.cadence.live.number if self.cadence.live else None

    @property
    def qualified_share(self) -> int | None:
        """Percent of ended enrollments that ended qualified: the figure an A/B test of two
        cadences compares. None before any has ended."""
        if not self.ended:
            return None
        return round(100 * self.qualified / self.ended)


def _live_step_count() -> Subquery:
    return Subquery(
        Step.objects.filter(version_id=OuterRef("live_id"))
        .order_by()
        .values("version_id")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )


def cadence_list_rows(*, status: str = "") -> list[CadenceRow]:
    """Every cadence with its live version, step count and enrollment figures, in one query:
    the counts are one GROUP BY over the enrollments, the steps a subquery."""
    rows = (
        Cadence.objects.select_related("live", "team")
        .annotate(
            n_steps=Coalesce(_live_step_count(), 0),
            n_active=Count("enrollments", filter=Q(enrollments__status=E.Status.ACTIVE)),
            n_ended=Count("enrollments", filter=Q(enrollments__status=E.Status.ENDED)),
            n_qualified=Count(
                "enrollments",
                filter=Q(
                    enrollments__status=E.Status.ENDED,
                    enrollments__outcome=E.Outcome.QUALIFIED,
                ),
            ),
        )
        .order_by("rank", "name")
    )
    if status in Cadence.Status.values:
        rows = rows.filter(status=status)
    return [
        CadenceRow(
            cadence=c,
            steps=c.n_steps,
            active=c.n_active,
            ended=c.n_ended,
            qualified=c.n_qualified,
        )
        for c in rows
    ]


def cadence_named(name: str) -> Cadence | None:
    return Cadence.objects.filter(name__iexact=name).first()


def cadence_names() -> set[str]:
    """Names in use, lower case: a shipped cadence already installed is not offered again."""
    return {name.lower() for name in Cadence.objects.values_list("name", flat=True)}


# --- One cadence ----------------------------------------------------------------------------


def cadence_get(pk: int) -> Cadence | None:
    return (
        Cadence.objects.select_related("live", "live__published_by", "team").filter(pk=pk).first()
    )


def cadence_live_steps(cadence: Cadence) -> list[Step]:
    if cadence.live_id is None:
        return []
    return list(
        Step.objects.filter(version_id=cadence.live_id)
        .select_related("template")
        .order_by("position")
    )


def steps_as_draft(steps: list[Step]) -> list[dict[str, Any]]:
    """Published steps in the draft's shape, to tell whether the draft has changes."""
    return [
        {
            "kind": s.kind,
            "day": s.day,
            "from": s.window_from.strftime("%H:%M"),
            "until": s.window_until.strftime("%H:%M"),
            "template": s.template_id,
            "script": s.script,
            "instructions": s.instructions,
        }
        for s in steps
    ]


def cadence_versions(cadence: Cadence) -> list[CadenceVersion]:
    return list(
        CadenceVersion.objects.filter(cadence=cadence)
        .select_related("published_by")
        .annotate(n_steps=Count("steps"))
        .order_by("-number")
    )


def enrollment_counts(cadence: Cadence) -> dict[str, int]:
    """Enrollments of the cadence per status, every status present, in one query."""
    found = dict(
        E.objects.filter(cadence=cadence)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "n")
    )
    return {status: found.get(status, 0) for status in E.Status.values}


def enrollment_page(
    *,
    cadence: Cadence,
    status: str = "",
    outcome: str = "",
    rep: str = "",
    before: int | None = None,
    limit: int = ENROLLMENT_PAGE,
) -> tuple[list[Enrollment], int | None]:
    """One page of the cadence's enrollments, newest first, by keyset on the id (no OFFSET:
    a cadence can hold 100 000 leads); and the id to read the next page before. `rep` is a
    rep's id, "pool" for the shared pool, or empty for everyone."""
    rows = E.objects.filter(cadence=cadence)
    if status in E.Status.values:
        rows = rows.filter(status=status)
    if outcome in E.Outcome.values:
        rows = rows.filter(outcome=outcome)
    if rep == "pool":
        rows = rows.filter(rep__isnull=True)
    elif rep.isdigit():
        rows = rows.filter(rep_id=int(rep))
    if before is not None:
        rows = rows.filter(id__lt=before)
    page = list(rows.select_related("contact", "rep__user", "version").order_by("-id")[: limit + 1])
    if len(page) <= limit:
        return page, None
    page = page[:limit]
    return page, page[-1].pk


def enrollment_get(*, cadence: Cadence, pk: int) -> Enrollment | None:
    return E.objects.filter(cadence=cadence, pk=pk).first()


def open_enrollment(contact: Contact) -> Enrollment | None:
    """The contact's open (active or paused) enrollment, with its cadence, if any."""
    return E.objects.filter(contact=contact, status__in=OPEN).select_related("cadence").first()


def contact_find(query: str) -> Contact | None:
    """A contact by its number or its e-mail address (any case); merged contacts lead to
    the contact they were merged into, erased ones are not found."""
    query = query.strip()
    if not query:
        return None
    if query.isdigit() and len(query) < 19:
        contact = Contact.objects.filter(pk=int(query)).first()
    else:
        contact = (
            Contact.objects.alias(email_ci=Lower("email"))
            .filter(email_ci=query.lower(), merged_into__isnull=True)
            .order_by("pk")
            .first()
        )
    if contact is not None and contact.merged_into_id:
        contact = Contact.objects.filter(pk=contact.merged_into_id).first()
    if contact is None or contact.erased_at:
        return None
    return contact


# --- Choices for the forms ------------------------------------------------------------------


def step_templates() -> list[tuple[int, str, str]]:
    """(id, name, channel) of the templates a step can send: e-mail and SMS."""
    return list(
        MessageTemplate.objects.filter(channel__in=[Channel.EMAIL, Channel.SMS])
        .order_by("name")
        .values_list("id", "name", "channel")
    )


def segment_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(personas, other segments) as choices, from one query."""
    personas: list[tuple[str, str]] = []
    segments: list[tuple[str, str]] = []
    for pk, name, kind in Segment.objects.order_by(Lower("name")).values_list("id", "name", "kind"):
        (personas if kind == Segment.Kind.PERSONA else segments).append((str(pk), name))
    return personas, segments


def segment_names(ids: list[int]) -> dict[int, str]:
    return dict(Segment.objects.filter(pk__in=ids).values_list("pk", "name"))


def team_get(pk: int) -> Team | None:
    return Team.objects.filter(pk=pk).first()


def team_list() -> QuerySet[Team]:
    return Team.objects.annotate(n_reps=Count("rep")).order_by(Lower("name"))


def rep_choices() -> list[tuple[str, str]]:
    return [
        (str(r.pk), str(r))
        for r in Rep.objects.select_related("user").order_by("user__first_name", "user__username")
    ]


# --- Reps -----------------------------------------------------------------------------------


def rep_rows() -> list[Rep]:
    """Every rep with its user, team and the number of active leads it holds, in one query."""
    return list(
        Rep.objects.select_related("user", "team")
        .annotate(n_active=Count("enrollments", filter=Q(enrollments__status=E.Status.ACTIVE)))
        .order_by("user__first_name", "user__last_name", "user__username")
    )


def rep_get(pk: int) -> Rep | None:
    return Rep.objects.select_related("user", "team").filter(pk=pk).first()


def rep_candidates() -> QuerySet[User]:
    """Active users with the sales rep role who are not reps yet."""
    return (
        User.objects.filter(is_active=True, groups__name=Role.REP.value, rep__isnull=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def sla_current() -> SlaPolicy:
    """The policy as it is, or the defaults, without writing a row on a GET."""
    return SlaPolicy.objects.filter(pk=1).first() or SlaPolicy(pk=1)
