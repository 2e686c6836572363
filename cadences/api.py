"""REST API for cadences and their enrollments (/api/v1/, built on growth.api).

Cadences: read, with their enrollment figures; one cadence with the steps of its live
version. Enrollments (a contact on a cadence): list with filters, get, and, as the sales
manager's cadence page does, enroll a contact by hand (`enrollment_start`, one open
enrollment per contact: a contact already on a cadence is a 409 naming it), pause, resume
and stop.

Who: the cadences are read by whoever sees the team board, the cadence pages or the
contacts (the contact page lists a contact's cadences); enrollments by the same, and by a
sales rep, who sees only its own (assigned to it, or leased to it now). Enrolling, pausing,
resuming and stopping are the cadence designers' (MANAGE_CADENCES), as on the pages.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from cadences import selectors_cadences as selectors
from cadences.models import Cadence, Enrollment, Rep, Step
from cadences.services.enrollment import (
    enrollment_pause,
    enrollment_resume,
    enrollment_start,
    enrollment_stop,
)
from growth.api.errors import Conflict
from growth.api.filters import Filters, Strict
from growth.api.permissions import Access, Caller
from growth.api.views import DetailView, ListView, ResourceView
from growth.roles import Capability as C
from leads.api import MAX_ID, live_contact_for
from leads.models import Contact

# Who sees every enrollment: the pages that show them (cadences, team board, contact page).
SEE_ALL = (C.MANAGE_CADENCES, C.VIEW_TEAM, C.VIEW_CONTACTS)
CADENCES = Access("cadences", read=list(SEE_ALL), write=[C.MANAGE_CADENCES])
ENROLLMENTS = Access("cadences", read=[*SEE_ALL, C.WORK_QUEUE], write=[C.MANAGE_CADENCES])
E = Enrollment


# --- Cadences ------------------------------------------------------------------------------


class StepOut(serializers.ModelSerializer):
    template = serializers.IntegerField(source="template_id", allow_null=True)
    # Wall-clock times of the contact's day, "09:00": not instants, so no offset.
    window_from = serializers.SerializerMethodField(help_text="HH:MM in the contact's zone.")
    window_until = serializers.SerializerMethodField(help_text="HH:MM in the contact's zone.")

    class Meta:
        model = Step
        fields = (
            "position",
            "day",
            "window_from",
            "window_until",
            "kind",
            "template",
            "script",
            "instructions",
        )

    def get_window_from(self, step: Step) -> str:
        return step.window_from.strftime("%H:%M")

    def get_window_until(self, step: Step) -> str:
        return step.window_until.strftime("%H:%M")


class EnrollmentCountsOut(serializers.Serializer):
    active = serializers.IntegerField(source="n_active")
    paused = serializers.IntegerField(source="n_paused")
    ended = serializers.IntegerField(source="n_ended")
    qualified = serializers.IntegerField(
        source="n_qualified", help_text="Ended as SQL / meeting booked."
    )


class CadenceOut(serializers.ModelSerializer):
    live_version = serializers.IntegerField(
        source="live.number", allow_null=True, help_text="The published version new leads get."
    )
    team = serializers.IntegerField(source="team_id", allow_null=True)
    # Described per state (the schema lists them): also keeps this enum apart from the
    # journeys' one, which has the same values.
    status = serializers.ChoiceField(
        choices=[
            (Cadence.Status.DRAFT, "draft: never published"),
            (Cadence.Status.ACTIVE, "active: new MQLs that match its rules enter it"),
            (Cadence.Status.PAUSED, "paused: no new MQLs; leads on it go on"),
            (Cadence.Status.ARCHIVED, "archived: retired; leads on it go on until they end"),
        ]
    )
    rules = serializers.DictField(help_text="Which new MQLs it takes (empty: any).")
    live_steps = StepOut(
        many=True,
        read_only=True,
        source="live.steps.all",
        help_text="The live version's steps: leads on it follow these.",
    )
    enrollments = EnrollmentCountsOut(source="*", read_only=True)

    class Meta:
        model = Cadence
        fields = (
            "id",
            "name",
            "description",
            "status",
            "rank",
            "weight",
            "rules",
            "assignment",
            "team",
            "live_version",
            "live_steps",
            "enrollments",
            "created_at",
            "updated_at",
        )

    def to_representation(self, instance: Cadence) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.live_id is None:  # a draft: nothing published yet
            data["live_steps"] = []
        return data


def _counted(cadences: QuerySet[Cadence]) -> QuerySet[Cadence]:
    """With the live steps and the enrollments per state: three queries for any number."""

    def count(**where: Any) -> Count:
        return Count("enrollments", filter=Q(**{f"enrollments__{k}": v for k, v in where.items()}))

    steps = Prefetch("live__steps", queryset=Step.objects.order_by("position"))
    return (
        cadences.select_related("live")
        .prefetch_related(steps)
        .annotate(
            n_active=count(status=E.Status.ACTIVE),
            n_paused=count(status=E.Status.PAUSED),
            n_ended=count(status=E.Status.ENDED),
            n_qualified=count(status=E.Status.ENDED, outcome=E.Outcome.QUALIFIED),
        )
    )


class CadenceFiltersIn(Filters):
    status = serializers.ChoiceField(choices=Cadence.Status.values, required=False)


class CadencesMixin:
    access = CADENCES
    caller: Caller

    def visible(self) -> QuerySet[Cadence]:
        return Cadence.objects.all()


class CadenceList(CadencesMixin, ListView):
    """Cadences, newest first, with their live steps and enrollments per state."""

    serializer_class = CadenceOut
    filters = CadenceFiltersIn
    lookups = {"status": "status"}

    def get_queryset(self) -> QuerySet[Cadence]:
        return _counted(self.visible())


class CadenceDetail(CadencesMixin, DetailView):
    """One cadence: its rules, the steps of its live version and its enrollments per state."""

    serializer_class = CadenceOut

    def get_queryset(self) -> QuerySet[Cadence]:
        return _counted(self.visible())


# --- Enrollments ---------------------------------------------------------------------------


class EnrollmentOut(serializers.ModelSerializer):
    cadence_name = serializers.CharField(source="cadence.name")
    version = serializers.IntegerField(source="version.number")
    rep = serializers.IntegerField(
        source="rep_id", allow_null=True, help_text="Null: in the shared pool."
    )
    rep_name = serializers.SerializerMethodField()
    step = serializers.IntegerField(help_text="The next step's position.")
    kind = serializers.CharField(help_text="The next step's kind; blank once ended.")

    class Meta:
        model = Enrollment
        fields = (
            "id",
            "contact",
            "cadence",
            "cadence_name",
            "version",
            "rep",
            "rep_name",
            "status",
            "outcome",
            "step",
            "kind",
            "due_at",
            "score",
            "qualified_at",
            "first_touch_at",
            "sla_due_at",
            "sla_missed_at",
            "attempts",
            "skips",
            "started_at",
            "ended_at",
            "ended_note",
        )

    def get_rep_name(self, enrollment: Enrollment) -> str | None:
        return str(enrollment.rep) if enrollment.rep is not None else None


class EnrollmentFiltersIn(Filters):
    cadence = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    contact = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    rep = serializers.RegexField(
        r"^(\d{1,18}|pool)$",
        required=False,
        help_text='A rep\'s id, or "pool" for the shared pool.',
    )
    status = serializers.ChoiceField(choices=E.Status.values, required=False)
    outcome = serializers.ChoiceField(choices=E.Outcome.values, required=False)


class EnrollmentsMixin:
    access = ENROLLMENTS
    caller: Caller

    def visible(self) -> QuerySet[Enrollment]:
        rows = E.objects.select_related("cadence", "version", "rep__user")
        who = self.caller
        if who.key is not None or any(who.can(c) for c in SEE_ALL):
            return rows
        if not who.can(C.WORK_QUEUE):
            return rows.none()
        # A rep: its own leads, and a pool lead while the queue shows it to this rep.
        return rows.filter(
            Q(rep__user=who.user) | Q(leased_to__user=who.user, lease_until__gte=timezone.now())
        )


class EnrollmentList(EnrollmentsMixin, ListView):
    """Enrollments, newest first."""

    serializer_class = EnrollmentOut
    filters = EnrollmentFiltersIn
    lookups = {
        "cadence_id": "cadence",
        "contact_id": "contact",
        "status": "status",
        "outcome": "outcome",
    }

    def filtered(self, queryset: QuerySet[Any], filters: dict[str, Any]) -> QuerySet[Any]:
        rows = super().filtered(queryset, filters)
        rep = filters.get("rep")
        if rep == "pool":
            rows = rows.filter(rep__isnull=True)
        elif rep:
            rows = rows.filter(rep_id=int(rep))
        return rows


class EnrollmentDetail(EnrollmentsMixin, DetailView):
    serializer_class = EnrollmentOut


class CadenceEnrollIn(Strict):
    contact = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    rep = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="A rep's id; without it, the cadence's assignment chooses.",
    )
    key = serializers.RegexField(
        r"^[\w.:-]{1,64}$",
        required=False,
        help_text="An idempotency key: a retry with the same key enrolls once (200).",
    )


class EnrolledOut(serializers.Serializer):
    enrolled = serializers.BooleanField(help_text="Whether this call started the enrollment.")
    enrollment = EnrollmentOut()


def _refusal(cadence: Cadence) -> str:
    """Why the cadence takes no lead by hand (the cadence page's rule), or ""."""
    if cadence.live_id is None:
        return _("Publish the cadence before enrolling leads.")
    if cadence.status != Cadence.Status.ACTIVE:
        return _("The cadence is %(status)s: activate it before enrolling leads.") % {
            "status": cadence.get_status_display()
        }
    return ""


def _reread(enrollment: Enrollment) -> Enrollment:
    return E.objects.select_related("cadence", "version", "rep__user").get(pk=enrollment.pk)


class CadenceEnroll(CadencesMixin, ResourceView):
    serializer_class = CadenceOut  # for the schema's path parameter

    @extend_schema(request=CadenceEnrollIn, responses={200: EnrolledOut, 201: EnrolledOut})
    def post(self, request: Request, pk: int) -> Response:
        """Put a contact on this cadence by hand, as the cadence page does: 201 with the
        enrollment (its first step is due now). 200 when a call with the same `key` enrolled
        it already. 409 when the contact is on a cadence already (one at a time: stop that
        enrollment first), was merged or erased, or the cadence is not active or published."""
        cadence = self.get_object()
        given = CadenceEnrollIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        contact = self._contact(data["contact"])
        rep = None
        if data.get("rep") is not None:
            rep = Rep.objects.select_related("user").filter(pk=data["rep"]).first()
            if rep is None:
                raise serializers.ValidationError({"rep": [_("No rep with this id.")]})
        now = timezone.now()
        key = f"api:{cadence.pk}:{contact.pk}:{data.get('key') or now.timestamp()}"
        if data.get("key"):
            done = E.objects.filter(key=key).first()
            if done is not None:
                return Response(
                    {"enrolled": False, "enrollment": EnrollmentOut(_reread(done)).data}
                )
        problem = _refusal(cadence)
        if problem:
            raise Conflict(problem)
        current = selectors.open_enrollment(contact)
        if current is not None:
            raise Conflict(
                _(
                    "%(name)s is already on the cadence “%(cadence)s” (a lead is on one cadence "
                    "at a time): stop that enrollment first."
                )
                % {"name": contact.display_name, "cadence": current.cadence.name}
            )
        started = enrollment_start(contact=contact, key=key, cadence=cadence, rep=rep, now=now)
        if started is None:  # a concurrent enrollment of the contact won
            raise Conflict(
                _("%(name)s could not be enrolled: the contact is already on a cadence.")
                % {"name": contact.display_name}
            )
        body = {"enrolled": True, "enrollment": EnrollmentOut(_reread(started)).data}
        return Response(body, status=status.HTTP_201_CREATED)

    def _contact(self, pk: int) -> Contact:
        return live_contact_for(self.caller, pk)


class StopIn(Strict):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=300, help_text="Why, for the record."
    )


class EnrollmentAction(EnrollmentsMixin, ResourceView):
    """Pause, resume or stop one enrollment (`action` is fixed by the route)."""

    serializer_class = EnrollmentOut

    @abstractmethod
    def act(self, enrollment: Enrollment, request: Request) -> None:
        """The change itself, through the cadences service (each route has its own)."""

    def post(self, request: Request, pk: int) -> Response:
        enrollment = self.get_object()
        try:
            self.act(enrollment, request)
        except DjangoValidationError as error:
            raise Conflict(" ".join(error.messages)) from None
        return Response(EnrollmentOut(_reread(enrollment)).data)


class EnrollmentPause(EnrollmentAction):
    @extend_schema(request=None, responses={200: EnrollmentOut})
    def post(self, request: Request, pk: int) -> Response:
        """Pause an active enrollment: no steps until it is resumed. 409 when it is not
        active."""
        return super().post(request, pk)

    def act(self, enrollment: Enrollment, request: Request) -> None:
        enrollment_pause(enrollment=enrollment)


class EnrollmentResume(EnrollmentAction):
    @extend_schema(request=None, responses={200: EnrollmentOut})
    def post(self, request: Request, pk: int) -> Response:
        """Resume a paused enrollment where it stopped: the current step falls due now if
        its time has passed. 409 when it is not paused."""
        return super().post(request, pk)

    def act(self, enrollment: Enrollment, request: Request) -> None:
        enrollment_resume(enrollment=enrollment)


class EnrollmentStop(EnrollmentAction):
    @extend_schema(request=StopIn, responses={200: EnrollmentOut})
    def post(self, request: Request, pk: int) -> Response:
        """Take the lead off the cadence for good (outcome "stopped"): no further steps.
        409 when it has ended already."""
        return super().post(request, pk)

    def act(self, enrollment: Enrollment, request: Request) -> None:
        given = StopIn(data=request.data)
        given.is_valid(raise_exception=True)
        note = given.validated_data.get("note") or _("stopped by %(who)s") % {
            "who": request.user.get_username()
        }
        enrollment_stop(enrollment=enrollment, note=note)


urlpatterns = [
    path("cadences/", CadenceList.as_view(), name="api_cadences"),
    path("cadences/<int:pk>/", CadenceDetail.as_view(), name="api_cadence"),
    path("cadences/<int:pk>/enroll/", CadenceEnroll.as_view(), name="api_cadence_enroll"),
    path("enrollments/", EnrollmentList.as_view(), name="api_enrollments"),
    path("enrollments/<int:pk>/", EnrollmentDetail.as_view(), name="api_enrollment"),
    path("enrollments/<int:pk>/pause/", EnrollmentPause.as_view(), name="api_enrollment_pause"),
    path("enrollments/<int:pk>/resume/", EnrollmentResume.as_view(), name="api_enrollment_resume"),
    path("enrollments/<int:pk>/stop/", EnrollmentStop.as_view(), name="api_enrollment_stop"),
]
