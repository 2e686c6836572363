"""REST API for deliveries and journeys (/api/v1/, built on growth.api).

Deliveries: read only, the outbox's rows (status, channel, purpose, contact, journey, times,
reason); never what was sent (address, subject, bodies: links in them carry tokens).
Journeys: read (with their run counts), the runs of one journey, and enrolling a contact
through the journey's manual / API entry (`journey_enroll`), which obeys the journey's
audience and re-entry rules.

Who: deliveries are the outbox's readers ("Build trigger journeys" or "Edit message
templates"); journeys the journey builders. A sales rep reaches neither (403). An API key
reaches what its scopes name.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q, QuerySet
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from automations.journeys.engine import journey_enroll
from automations.models import Delivery, Journey, JourneyRun
from automations.models.delivery import Channel
from growth.api.errors import Conflict
from growth.api.filters import Filters, Strict
from growth.api.permissions import Access, Caller
from growth.api.views import DetailView, ListView, ResourceView
from growth.roles import Capability as C
from leads.api import MAX_ID, live_contact_for
from leads.models import Contact

DELIVERIES = Access("deliveries", read=[C.MANAGE_JOURNEYS, C.MANAGE_TEMPLATES])
JOURNEYS = Access("journeys", read=[C.MANAGE_JOURNEYS], write=[C.MANAGE_JOURNEYS])
ACTIVE_RUNS = [JourneyRun.Status.WAITING, JourneyRun.Status.QUEUED]


# --- Deliveries ----------------------------------------------------------------------------


class DeliveryOut(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = (
            "id",
            "contact",
            "journey",
            "channel",
            "purpose",
            "origin",
            "status",
            "reason",
            "scheduled_for",
            "due_at",
            "sent_at",
            "delivered_at",
            "opened_at",
            "clicked_at",
            "created_at",
            "updated_at",
        )


class DeliveryFiltersIn(Filters):
    contact = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(choices=Delivery.Status.values, required=False)
    channel = serializers.ChoiceField(choices=Channel.values, required=False)
    journey = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class DeliveriesMixin:
    access = DELIVERIES
    caller: Caller

    def visible(self) -> QuerySet[Delivery]:
        return Delivery.objects.only(*DeliveryOut.Meta.fields)


class DeliveryList(DeliveriesMixin, ListView):
    """Messages sent, held or scheduled, newest first."""

    serializer_class = DeliveryOut
    filters = DeliveryFiltersIn
    lookups = {
        "contact_id": "contact",
        "status": "status",
        "channel": "channel",
        "journey_id": "journey",
    }


class DeliveryDetail(DeliveriesMixin, DetailView):
    serializer_class = DeliveryOut


# --- Journeys ------------------------------------------------------------------------------


class RunCountsOut(serializers.Serializer):
    total = serializers.IntegerField(source="runs_total")
    active = serializers.IntegerField(source="runs_active", help_text="Waiting or queued.")
    done = serializers.IntegerField(source="runs_done")
    converted = serializers.IntegerField(source="runs_converted")
    exited = serializers.IntegerField(source="runs_exited")
    failed = serializers.IntegerField(source="runs_failed")


class JourneyOut(serializers.ModelSerializer):
    live_version = serializers.IntegerField(
        source="live.number", allow_null=True, help_text="The published version new runs use."
    )
    trigger = serializers.CharField(source="live.trigger_kind", allow_null=True)
    runs = RunCountsOut(source="*", read_only=True)

    class Meta:
        model = Journey
        fields = (
            "id",
            "name",
            "description",
            "status",
            "version",
            "live_version",
            "trigger",
            "reentry",
            "reentry_days",
            "audience",
            "runs",
            "created_at",
            "updated_at",
        )


class JourneyRunOut(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number")

    class Meta:
        model = JourneyRun
        fields = ("id", "contact", "version", "status", "node", "started_at", "ended_at")


def _counted(journeys: QuerySet[Journey]) -> QuerySet[Journey]:
    def count(*statuses: str) -> Count:
        return Count("runs", filter=Q(runs__status__in=statuses))

    S = JourneyRun.Status
    return journeys.select_related("live").annotate(
        runs_total=Count("runs"),
        runs_active=count(*ACTIVE_RUNS),
        runs_done=count(S.DONE),
        runs_converted=count(S.CONVERTED),
        runs_exited=count(S.EXITED),
        runs_failed=count(S.FAILED),
    )


class JourneyFiltersIn(Filters):
    status = serializers.ChoiceField(choices=Journey.Status.values, required=False)


class JourneysMixin:
    access = JOURNEYS
    caller: Caller

    def visible(self) -> QuerySet[Journey]:
        return Journey.objects.all()


class JourneyList(JourneysMixin, ListView):
    """Journeys, newest first, with how many runs each has in every state."""

    serializer_class = JourneyOut
    filters = JourneyFiltersIn
    lookups = {"status": "status"}

    def get_queryset(self) -> QuerySet[Journey]:
        return _counted(self.visible())


class JourneyDetail(JourneysMixin, DetailView):
    serializer_class = JourneyOut

    def get_queryset(self) -> QuerySet[Journey]:
        return _counted(self.visible())


class JourneyRunFiltersIn(Filters):
    contact = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(choices=JourneyRun.Status.values, required=False)


class JourneyRuns(JourneysMixin, ListView):
    """The journey's runs (one per contact's way through it), most recently started first."""

    serializer_class = JourneyRunOut
    filters = JourneyRunFiltersIn
    ordering = ("-started_at", "-id")
    lookups = {"contact_id": "contact", "status": "status"}

    def get_queryset(self) -> QuerySet[JourneyRun]:
        journey = generics.get_object_or_404(self.visible(), pk=self.kwargs["pk"])
        return JourneyRun.objects.filter(journey=journey).select_related("version")


class EnrollIn(Strict):
    contact = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    key = serializers.RegexField(
        r"^[\w.:-]{1,80}$",
        required=False,
        help_text="An idempotency key: the same key enters a contact at most once.",
    )


class EnrollOut(serializers.Serializer):
    enrolled = serializers.BooleanField(help_text="Whether this call started a run.")
    run = JourneyRunOut(allow_null=True, help_text="The contact's latest run of the journey.")
    detail = serializers.CharField()


class JourneyEnroll(JourneysMixin, ResourceView):
    serializer_class = JourneyOut  # for the schema's path parameter

    @extend_schema(request=EnrollIn, responses={200: EnrollOut, 201: EnrollOut})
    def post(self, request: Request, pk: int) -> Response:
        """Enter a contact into the journey's live version, as adding by hand does. 201 when
        a run started; 200 when the journey's rules skip the contact (already on its way,
        entered before under its re-entry rule or with this key, or outside its audience).
        409 when the journey is not active or the contact was merged or erased."""
        journey = self.get_object()
        given = EnrollIn(data=request.data)
        given.is_valid(raise_exception=True)
        contact = self._contact(given.validated_data["contact"])
        key = given.validated_data.get("key")
        try:
            started = journey_enroll(
                journey=journey, contact_ids=[contact.pk], key=f"api:{key}" if key else ""
            )
        except DjangoValidationError as error:
            raise Conflict(" ".join(error.messages)) from None
        run = (
            JourneyRun.objects.filter(journey=journey, contact=contact)
            .select_related("version")
            .order_by("-started_at", "-id")
            .first()
        )
        detail = (
            _("The contact entered the journey.")
            if started
            else _(
                "The contact did not enter: it is already on its way through this journey, "
                "entered it before (its re-entry rule or this key), or is outside its audience."
            )
        )
        body = {
            "enrolled": bool(started),
            "run": JourneyRunOut(run).data if run else None,
            "detail": detail,
        }
        return Response(body, status=status.HTTP_201_CREATED if started else status.HTTP_200_OK)

    def _contact(self, pk: int) -> Contact:
        return live_contact_for(self.caller, pk)


urlpatterns = [
    path("deliveries/", DeliveryList.as_view(), name="api_deliveries"),
    path("deliveries/<int:pk>/", DeliveryDetail.as_view(), name="api_delivery"),
    path("journeys/", JourneyList.as_view(), name="api_journeys"),
    path("journeys/<int:pk>/", JourneyDetail.as_view(), name="api_journey"),
    path("journeys/<int:pk>/runs/", JourneyRuns.as_view(), name="api_journey_runs"),
    path("journeys/<int:pk>/enroll/", JourneyEnroll.as_view(), name="api_journey_enroll"),
]
