"""REST API for lifecycle stages and lead scores (/api/v1/, built on growth.api).

A contact's lifecycle (its stage and the change that put it there), its stage history (every
`StageChange`, with what caused it), a move by hand with a reason (the contact page's "Move
to" form, through `stage_move_by_user`), its score in every score model and, per model, the
explanation the contact page gives ("why this score?": each award with its rule, event, time
and value now). Read only: the MQL/SQL definitions and the score models.

The scope is `lifecycle`, not `contacts`: moving a stage is a sales and marketing action,
while `contacts:write` also merges and erases (an admin's); and the scoring internals are
not what a key that syncs contacts needs.

Who: contacts' readers see every contact's lifecycle, a sales rep only the contacts of its
own queue (leads.api's rule); the stage movers of the web UI (MANAGE_SCORING or WORK_QUEUE)
move stages; the definitions and models are the scoring editors'.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from growth.api.errors import Conflict
from growth.api.filters import Filters, Strict
from growth.api.permissions import Access, Caller
from growth.api.views import ListView, ResourceView
from growth.roles import Capability as C
from leads import selectors_lifecycle, selectors_scoring
from leads.api import restricted
from leads.models import (
    Contact,
    ContactScore,
    LifecycleStage,
    QualificationDefinition,
    ScoreModel,
    ScoringRule,
    StageChange,
)
from leads.models.lifecycle import stage_label
from leads.services.lifecycle import REASON_MAX_LENGTH, lifecycle_settings_get, stage_move_by_user
from leads.services.qualification import criterion_describe
from leads.services.scoring import mql_score_threshold
from leads.views_lifecycle import STAGE_MOVERS

LIFECYCLE = Access("lifecycle", read=[C.VIEW_CONTACTS, C.WORK_QUEUE], write=list(STAGE_MOVERS))
SCORING = Access("lifecycle", read=[C.MANAGE_SCORING])
KIND_HELP = " or ".join(f'"{kind}"' for kind in ScoringRule.Kind.values)


# --- Serializers ---------------------------------------------------------------------------


class StageChangeOut(serializers.ModelSerializer):
    cause = serializers.CharField(source="cause_kind", help_text="What moved the contact.")
    detail = serializers.CharField(source="cause_detail", help_text="The cause, in words.")
    event = serializers.IntegerField(source="event_id", allow_null=True)
    order = serializers.IntegerField(source="order_id", allow_null=True)
    definition = serializers.IntegerField(
        source="definition_id", allow_null=True, help_text="The MQL/SQL definition that matched."
    )
    actor = serializers.SerializerMethodField(help_text="Who moved it by hand.")
    backward = serializers.BooleanField(help_text="A move to a less advanced stage.")

    class Meta:
        model = StageChange
        fields = (
            "id",
            "from_stage",
            "to_stage",
            "at",
            "cause",
            "detail",
            "criterion",
            "event",
            "order",
            "definition",
            "actor",
            "reason",
            "backward",
        )

    def get_actor(self, change: StageChange) -> str | None:
        if change.actor is None:
            return None
        return str(change.actor.get_full_name() or change.actor.get_username())


class LifecycleOut(serializers.Serializer):
    contact = serializers.IntegerField()
    stage = serializers.CharField(help_text="The lifecycle stage (a value of `to_stage`).")
    stage_label = serializers.CharField(help_text="The stage's name, in the caller's language.")
    merged_into = serializers.IntegerField(allow_null=True)
    latest = StageChangeOut(
        allow_null=True, help_text="The change that put the contact in its stage (why it is)."
    )


class StageMoveIn(Strict):
    to_stage = serializers.ChoiceField(choices=LifecycleStage.values)
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH, help_text="Why: others read it in the stage history."
    )


class ModelOut(serializers.ModelSerializer):
    primary = serializers.BooleanField(source="is_primary")

    class Meta:
        model = ScoreModel
        fields = ("id", "name", "description", "primary", "active", "half_life_days")


class ModelScoreOut(serializers.Serializer):
    model = ModelOut()
    total = serializers.FloatField(help_text="Decayed behaviour plus fit, as last computed.")
    behaviour = serializers.FloatField()
    fit = serializers.IntegerField()
    computed_at = serializers.DateTimeField(allow_null=True)


class ScoresOut(serializers.Serializer):
    contact = serializers.IntegerField()
    score = serializers.IntegerField(help_text="The primary model's score (the contact's).")
    threshold = serializers.IntegerField(help_text="The primary score that makes an MQL.")
    models = ModelScoreOut(many=True)


class RuleSumOut(serializers.Serializer):
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField()
    kind = serializers.CharField(help_text=KIND_HELP)
    awards = serializers.IntegerField()
    points = serializers.IntegerField(help_text="As awarded, before decay.")
    current = serializers.FloatField(help_text="Worth now (behaviour points decay).")


class ContributionOut(serializers.Serializer):
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField()
    kind = serializers.CharField(help_text=KIND_HELP)
    event = serializers.IntegerField(source="event_id", allow_null=True)
    event_name = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    points = serializers.IntegerField()
    current = serializers.FloatField()


class ExplanationOut(serializers.Serializer):
    contact = serializers.IntegerField()
    model = ModelOut()
    at = serializers.DateTimeField(help_text="Values are decayed to this time.")
    total = serializers.FloatField(help_text="From the ledger, decayed to `at`.")
    behaviour = serializers.FloatField()
    fit = serializers.IntegerField()
    stored_total = serializers.FloatField(
        allow_null=True, help_text="The stored score (`computed_at`); null before any."
    )
    computed_at = serializers.DateTimeField(allow_null=True)
    threshold = serializers.IntegerField(help_text="The primary score that makes an MQL.")
    awards = serializers.IntegerField()
    more = serializers.IntegerField(help_text="Awards beyond the contributions listed.")
    by_rule = RuleSumOut(many=True)
    contributions = ContributionOut(many=True, help_text="Largest value now first.")
    qualified = StageChangeOut(allow_null=True, help_text="The latest move to MQL.")


class DefinitionOut(serializers.ModelSerializer):
    criteria = serializers.ListField(child=serializers.DictField())
    described = serializers.SerializerMethodField(help_text="Each criterion in words.")

    class Meta:
        model = QualificationDefinition
        fields = (
            "id",
            "kind",
            "name",
            "description",
            "active",
            "criteria",
            "described",
            "version",
            "updated_at",
        )

    def get_described(self, definition: QualificationDefinition) -> list[str]:
        return [criterion_describe(c) for c in definition.criteria or [] if isinstance(c, dict)]


# --- A contact's lifecycle -----------------------------------------------------------------


class ContactLifecycleMixin:
    caller: Caller

    def visible(self) -> QuerySet[Contact]:
        return restricted(Contact.objects.all(), self.caller)


def _lifecycle(contact: Contact) -> dict[str, Any]:
    return {
        "contact": contact.pk,
        "stage": contact.lifecycle_stage,
        "stage_label": stage_label(contact.lifecycle_stage),
        "merged_into": contact.merged_into_id,
        "latest": selectors_lifecycle.stage_latest(contact=contact),
    }


class LifecycleDetail(ContactLifecycleMixin, ResourceView):
    access = LIFECYCLE
    serializer_class = LifecycleOut

    @extend_schema(responses={200: LifecycleOut})
    def get(self, request: Request, pk: int) -> Response:
        """The contact's stage and the change that put it there."""
        contact = self.get_object()
        return Response(LifecycleOut(_lifecycle(contact)).data)


class StageChangeFiltersIn(Filters):
    cause = serializers.ChoiceField(choices=StageChange.Cause.values, required=False)
    to_stage = serializers.ChoiceField(choices=LifecycleStage.values, required=False)


class StageChangeList(ContactLifecycleMixin, ListView):
    """The contact's stage history, newest first."""

    access = LIFECYCLE
    serializer_class = StageChangeOut
    filters = StageChangeFiltersIn
    ordering = ("-at", "-id")
    lookups = {"cause_kind": "cause", "to_stage": "to_stage"}

    def get_queryset(self) -> QuerySet[StageChange]:
        contact = generics.get_object_or_404(self.visible(), pk=self.kwargs["pk"])
        return StageChange.objects.filter(contact=contact).select_related("actor")


class StageMove(ContactLifecycleMixin, ResourceView):
    access = LIFECYCLE
    serializer_class = LifecycleOut  # for the schema's path parameter

    @extend_schema(request=StageMoveIn, responses={201: LifecycleOut})
    def post(self, request: Request, pk: int) -> Response:
        """Move the contact to another stage by hand, with the reason (the contact page's
        "Move to"). 400 when it already is in that stage; 409 when it was merged or erased,
        or its stage changed meanwhile."""
        contact = self.get_object()
        given = StageMoveIn(data=request.data)
        given.is_valid(raise_exception=True)
        if contact.merged_into_id or contact.erased_at:
            raise Conflict(_("This contact was merged or erased; move the one it lives on in."))
        try:
            stage_move_by_user(
                contact=contact,
                to_stage=given.validated_data["to_stage"],
                actor=request.user,
                reason=given.validated_data["reason"],
            )
        except DjangoValidationError as error:
            if hasattr(error, "error_dict"):
                raise serializers.ValidationError(error.message_dict) from None
            raise Conflict(" ".join(error.messages)) from None
        return Response(LifecycleOut(_lifecycle(contact)).data, status=status.HTTP_201_CREATED)


# --- A contact's scores --------------------------------------------------------------------


class ContactScores(ContactLifecycleMixin, ResourceView):
    access = LIFECYCLE
    serializer_class = ScoresOut

    @extend_schema(responses={200: ScoresOut})
    def get(self, request: Request, pk: int) -> Response:
        """The contact's score in every score model, primary first (as last computed)."""
        contact = self.get_object()
        models = selectors_scoring.score_models()
        stored = {s.model_id: s for s in ContactScore.objects.filter(contact=contact)}
        rows = []
        for model in models:
            score = stored.get(model.pk)
            rows.append(
                {
                    "model": model,
                    "total": score.total if score else 0.0,
                    "behaviour": score.behaviour if score else 0.0,
                    "fit": score.fit if score else 0,
                    "computed_at": score.computed_at if score else None,
                }
            )
        body = {
            "contact": contact.pk,
            "score": contact.score,
            "threshold": mql_score_threshold(),
            "models": rows,
        }
        return Response(ScoresOut(body).data)


class ContactScoreExplanation(ContactLifecycleMixin, ResourceView):
    access = LIFECYCLE
    serializer_class = ExplanationOut

    @extend_schema(operation_id="contacts_score_explanation", responses={200: ExplanationOut})
    def get(self, request: Request, pk: int, model: int) -> Response:
        """Why the contact has its score in this model: every award of its ledger (the
        largest 50 by value now) with rule, event, time, points and value decayed to now, and
        the sums per rule, as the contact page's "Why this score?" shows them."""
        contact = self.get_object()
        score_model = generics.get_object_or_404(ScoreModel.objects.all(), pk=model)
        explanation = selectors_scoring.contact_score_explanation(
            contact=contact, model=score_model
        )
        stored = explanation.score
        body = {
            "contact": contact.pk,
            "model": score_model,
            "at": explanation.at,
            "total": explanation.total,
            "behaviour": explanation.behaviour,
            "fit": explanation.fit,
            "stored_total": stored.total if stored else None,
            "computed_at": stored.computed_at if stored else None,
            "threshold": explanation.threshold,
            "awards": explanation.awards,
            "more": explanation.more,
            "by_rule": explanation.by_rule,
            "contributions": explanation.contributions,
            "qualified": explanation.qualified,
        }
        return Response(ExplanationOut(body).data)


# --- Definitions and score models ----------------------------------------------------------


class DefinitionFiltersIn(Filters):
    kind = serializers.ChoiceField(choices=QualificationDefinition.Kind.values, required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class DefinitionList(ListView):
    """The MQL/SQL definitions: a contact qualifies when any criterion of an active one
    matches."""

    access = SCORING
    serializer_class = DefinitionOut
    filters = DefinitionFiltersIn
    lookups = {"kind": "kind", "active": "active"}

    def visible(self) -> QuerySet[QualificationDefinition]:
        lifecycle_settings_get()  # a new database gets the shipped definitions, as the page does
        return QualificationDefinition.objects.all()


class ScoreModelList(ListView):
    """The score models; the primary one's score is the contact's score."""

    access = SCORING
    serializer_class = ModelOut

    def visible(self) -> QuerySet[ScoreModel]:
        selectors_scoring.score_models()  # installs the shipped model on first use
        return ScoreModel.objects.all()


urlpatterns = [
    path("contacts/<int:pk>/lifecycle/", LifecycleDetail.as_view(), name="api_contact_lifecycle"),
    path(
        "contacts/<int:pk>/lifecycle/changes/",
        StageChangeList.as_view(),
        name="api_contact_stage_changes",
    ),
    path("contacts/<int:pk>/lifecycle/move/", StageMove.as_view(), name="api_contact_stage_move"),
    path("contacts/<int:pk>/scores/", ContactScores.as_view(), name="api_contact_scores"),
    path(
        "contacts/<int:pk>/scores/<int:model>/",
        ContactScoreExplanation.as_view(),
        name="api_contact_score_explanation",
    ),
    path("lifecycle/definitions/", DefinitionList.as_view(), name="api_qualification_definitions"),
    path("lifecycle/score-models/", ScoreModelList.as_view(), name="api_score_models"),
]
