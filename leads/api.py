"""REST API for contacts, their events and orders (/api/v1/, built on growth.api).

Contacts: list (cursor pages; the contact list page's filters plus score range, segment and
updated since), get (identities, consents, score, stage, personas), create (resolved through
identity: an e-mail or phone Growth knows returns that contact, so a retry has one effect),
update (profile fields only), merge, export and erase (both audited). Events and orders:
read only.

Who sees which contact, the web UI's rule: a role with "See contacts" sees all of them; a
sales rep (only "Work the lead queue") sees the contacts of its own queue: those on a
cadence enrollment that is assigned or leased to it and not ended. An API key sees what its
scopes name. Anything else is a 404, never data.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from growth import audit
from growth.api.errors import Conflict
from growth.api.filters import Filters, Strict
from growth.api.permissions import Access, Caller
from growth.api.views import DetailView, ListView, ResourceView
from growth.roles import Capability as C
from leads.access import assigned_contacts
from leads.forms_contacts import STAGES
from leads.models import (
    Consent,
    Contact,
    Event,
    Identity,
    Order,
    OrderLine,
    Refund,
    Segment,
    SegmentMembership,
)
from leads.selectors import ContactFilters, contact_list
from leads.services.identity import (
    contact_merge,
    contact_resolve,
    contact_save_changes,
    normalise,
)
from leads.services.privacy import contact_erase, contact_export

CONTACTS = Access("contacts", read=[C.VIEW_CONTACTS, C.WORK_QUEUE], write=[C.MANAGE_DATA])
EVENTS = Access("events", read=[C.VIEW_CONTACTS, C.WORK_QUEUE])
ORDERS = Access("orders", read=[C.VIEW_CONTACTS, C.WORK_QUEUE])
SEGMENTS = Access("segments", read=[C.VIEW_CONTACTS])
ERASE_WORD = "ERASE"
MAX_ID = 2**63 - 1  # bigint


def contact_restriction(who: Caller, contact_field: str = "pk") -> Q | None:
    """None when the caller sees every contact; else the condition on `contact_field` that
    keeps the contacts it may see (nothing, without a role that reads contacts)."""
    if who.key is not None or who.can(C.VIEW_CONTACTS):
        return None
    if not who.can(C.WORK_QUEUE):
        return Q(pk__in=[])
    # The web pages' rule (leads.access): the contacts of the rep's own enrollments, current
    # or ended, and those leased to it now.
    return assigned_contacts(who.user, contact_field)


def restricted(queryset: QuerySet[Any], who: Caller, contact_field: str = "pk") -> QuerySet[Any]:
    """`queryset` narrowed to the rows of the contacts the caller may see."""
    restriction = contact_restriction(who, contact_field)
    return queryset if restriction is None else queryset.filter(restriction)


def live_contact_for(who: Caller, pk: int) -> Contact:
    """The contact a write names in its body (enroll it, …): one the caller may see (else a
    400 on the field, as for any bad value), not merged away or erased (a 409)."""
    contact = restricted(Contact.objects.filter(pk=pk), who).first()
    if contact is None:
        raise serializers.ValidationError(
            {"contact": [_("No contact with this id is yours to see.")]}
        )
    if contact.merged_into_id or contact.erased_at:
        raise Conflict(_("Contact %(id)s was merged or erased.") % {"id": pk})
    return contact


# --- Serializers ---------------------------------------------------------------------------

LIST_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "company",
    "lifecycle_stage",
    "score",
    "source_channel",
    "created_at",
    "updated_at",
    "last_seen_at",
)


class ContactOut(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = LIST_FIELDS


class IdentityOut(serializers.ModelSerializer):
    class Meta:
        model = Identity
        fields = ("kind", "value", "created_at")


class ConsentOut(serializers.ModelSerializer):
    class Meta:
        model = Consent
        fields = ("channel", "status", "source", "changed_at")


class PersonaOut(serializers.Serializer):
    id = serializers.IntegerField(source="segment_id")
    name = serializers.CharField(source="segment.name")


class ContactDetailOut(serializers.ModelSerializer):
    identities = IdentityOut(many=True, read_only=True)
    consents = ConsentOut(many=True, read_only=True)
    personas = PersonaOut(many=True, read_only=True, source="persona_memberships")
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)

    class Meta:
        model = Contact
        fields = (
            *LIST_FIELDS,
            "time_zone",
            "locale",
            "properties",
            "merged_into",
            "erased_at",
            "identities",
            "consents",
            "personas",
        )


def _with_record(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """What ContactDetailOut reads, in a fixed number of queries."""
    personas = SegmentMembership.objects.filter(
        exited_at__isnull=True, segment__kind=Segment.Kind.PERSONA
    ).select_related("segment")
    return contacts.prefetch_related(
        Prefetch("identities", queryset=Identity.objects.order_by("kind", "value")),
        Prefetch("consents", queryset=Consent.objects.order_by("channel")),
        Prefetch("segment_memberships", queryset=personas, to_attr="persona_memberships"),
    )


class ContactIn(Strict):
    """A new contact. An e-mail or a phone Growth knows returns the contact it belongs to."""

    email = serializers.EmailField(required=False, max_length=254)
    phone = serializers.RegexField(r"^\+?[\d\s().-]{3,31}$", required=False, max_length=32)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    company = serializers.CharField(required=False, allow_blank=True, max_length=200)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_blank=True)
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    locale = serializers.CharField(required=False, allow_blank=True, max_length=20)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError(_("Give an e-mail or a phone to find or create by."))
        if attrs.get("phone") and len(normalise("phone", attrs["phone"]).lstrip("+")) < 5:
            raise serializers.ValidationError({"phone": [_("A phone number has digits.")]})
        if attrs.get("country"):
            attrs["country"] = attrs["country"].upper()
        return attrs


class ContactUpdateIn(ContactIn):
    """Profile fields only: e-mail and phone are identities (merge to join two contacts);
    stage and score are Growth's to compute."""

    email = None  # type: ignore[assignment]
    phone = None  # type: ignore[assignment]
    properties = serializers.DictField(required=False)

    def validate_properties(self, value: dict[str, Any]) -> dict[str, Any]:
        if "\\u0000" in json.dumps(value):  # PostgreSQL's jsonb cannot hold it
            raise serializers.ValidationError(_("Null characters are not allowed."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("Send at least one field to change."))
        if attrs.get("country"):
            attrs["country"] = attrs["country"].upper()
        return attrs


class MergeIn(Strict):
    survivor = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    merged = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reason = serializers.CharField(max_length=200)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["survivor"] == attrs["merged"]:
            raise serializers.ValidationError(
                {"merged": [_("A contact cannot merge into itself.")]}
            )
        return attrs


class MergeOut(serializers.Serializer):
    survivor = serializers.IntegerField()
    merged = serializers.IntegerField()
    reason = serializers.CharField()


class EraseIn(Strict):
    confirm = serializers.CharField(
        help_text=f'Must be "{ERASE_WORD}": erasure removes the personal data for good.'
    )

    def validate_confirm(self, value: str) -> str:
        if value != ERASE_WORD:
            raise serializers.ValidationError(
                _("Send %(word)s to confirm: erasure cannot be undone.") % {"word": ERASE_WORD}
            )
        return value


class ErasedOut(serializers.Serializer):
    id = serializers.IntegerField()
    erased_at = serializers.DateTimeField()


# --- Contacts ------------------------------------------------------------------------------


class ContactFiltersIn(Filters):
    q = serializers.CharField(required=False, max_length=200, help_text="Name, e-mail or phone.")
    stage = serializers.ChoiceField(choices=[value for value, _label in STAGES], required=False)
    source = serializers.CharField(required=False, max_length=80)  # type: ignore[assignment]
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False)
    email_consent = serializers.ChoiceField(choices=Consent.Status.values, required=False)
    score_min = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    score_max = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    segment = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Current members only."
    )
    updated_since = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("score_min"), attrs.get("score_max")
        if low is not None and high is not None and high < low:
            raise serializers.ValidationError({"score_max": [_("Lower than score_min.")]})
        return attrs


class ContactsMixin:
    access = CONTACTS
    caller: Caller

    def visible(self) -> QuerySet[Contact]:
        return restricted(Contact.objects.all(), self.caller, "pk")


class ContactList(ContactsMixin, ListView):
    """Live contacts (not merged away, not erased), newest first."""

    serializer_class = ContactOut
    filters = ContactFiltersIn

    def filtered(self, queryset: QuerySet[Contact], filters: dict[str, Any]) -> QuerySet[Contact]:
        # The contact list page's selector, then what only the API offers.
        contacts = contact_list(
            filters=ContactFilters(
                q=filters.get("q", ""),
                stage=filters.get("stage", ""),
                source=filters.get("source", ""),
                country=filters.get("country", ""),
                email_consent=filters.get("email_consent", ""),
            )
        )
        contacts = restricted(contacts, self.caller, "pk").only(*LIST_FIELDS)
        if filters.get("score_min") is not None:
            contacts = contacts.filter(score__gte=filters["score_min"])
        if filters.get("score_max") is not None:
            contacts = contacts.filter(score__lte=filters["score_max"])
        if filters.get("updated_since"):
            contacts = contacts.filter(updated_at__gte=filters["updated_since"])
        if filters.get("segment"):
            members = SegmentMembership.objects.filter(
                segment_id=filters["segment"], contact=OuterRef("pk"), exited_at__isnull=True
            )
            contacts = contacts.filter(Exists(members))
        return contacts

    @extend_schema(request=ContactIn, responses={200: ContactDetailOut, 201: ContactDetailOut})
    def post(self, request: Request) -> Response:
        """Find or create a contact by e-mail and phone. 201 when created, 200 when Growth
        knew it (empty profile fields are filled in; nothing else changes)."""
        given = ContactIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        keys = [(kind, data.pop(kind)) for kind in ("email", "phone") if data.get(kind)]
        with transaction.atomic():
            known = Identity.objects.filter(
                Q(
                    *[Q(kind=kind, value=normalise(kind, value)) for kind, value in keys],
                    _connector=Q.OR,
                )
            ).exists()
            contact = contact_resolve(keys=keys)
            for name, value in data.items():
                if value and not getattr(contact, name):  # fills blanks, overwrites nothing
                    setattr(contact, name, value)
            contact_save_changes(contact)
        out = ContactDetailOut(_with_record(Contact.objects.filter(pk=contact.pk)).get())
        return Response(out.data, status=status.HTTP_200_OK if known else status.HTTP_201_CREATED)


class ContactDetail(ContactsMixin, DetailView):
    """One contact with its identities, consents and personas. A contact merged away names
    its survivor in `merged_into`; an erased one keeps only its id and dates."""

    serializer_class = ContactDetailOut

    def get_queryset(self) -> QuerySet[Contact]:
        return _with_record(self.visible())

    @extend_schema(request=ContactUpdateIn, responses={200: ContactDetailOut})
    def patch(self, request: Request, pk: int) -> Response:
        contact = self.get_object()
        if contact.merged_into_id or contact.erased_at:
            raise Conflict(_("This contact was merged or erased: it cannot be changed."))
        given = ContactUpdateIn(data=request.data)
        given.is_valid(raise_exception=True)
        for name, value in given.validated_data.items():
            setattr(contact, name, value)
        contact.save(update_fields=[*given.validated_data, "updated_at"])
        return Response(ContactDetailOut(self.get_queryset().get(pk=contact.pk)).data)


def _live(view: ResourceView, pk: int, field: str) -> Contact:
    contact = view.get_queryset().filter(pk=pk).first()
    if contact is None:
        raise serializers.ValidationError({field: [_("No contact with this id is yours to see.")]})
    if contact.merged_into_id or contact.erased_at:
        raise Conflict(_("Contact %(id)s was merged or erased.") % {"id": pk})
    return contact


class ContactMerge(ContactsMixin, ResourceView):
    serializer_class = MergeIn

    @extend_schema(request=MergeIn, responses={200: MergeOut})
    def post(self, request: Request) -> Response:
        """Merge `merged` into `survivor`: its identities, events, orders, notes and consents
        move over; `merged` then points at `survivor`. Not undone."""
        given = MergeIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        survivor = _live(self, data["survivor"], "survivor")
        merged = _live(self, data["merged"], "merged")
        contact_merge(survivor=survivor, merged=merged, reason=data["reason"], actor=request.user)
        return Response({"survivor": survivor.pk, "merged": merged.pk, "reason": data["reason"]})


class ContactExport(ContactsMixin, ResourceView):
    serializer_class = ContactDetailOut  # for the schema's path parameter; the body is below

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        """Everything Growth holds about the contact (its privacy export document). Recorded
        in the audit log and as a privacy request."""
        contact = self.get_object()
        if contact.merged_into_id:
            raise Conflict(
                _("This contact was merged into %(id)s: export that one.")
                % {"id": contact.merged_into_id}
            )
        record = contact_export(contact=contact, origin="api", **_on_record(self))
        response = Response(record.export)
        response["Cache-Control"] = "no-store"
        return response


class ContactErase(ContactsMixin, ResourceView):
    serializer_class = EraseIn

    @extend_schema(request=EraseIn, responses={200: ErasedOut})
    def post(self, request: Request, pk: int) -> Response:
        """Erase the contact's personal data for good (orders stay, anonymised). Needs
        `{"confirm": "ERASE"}`. Recorded in the audit log and as a privacy request."""
        contact = self.get_object()
        given = EraseIn(data=request.data)
        given.is_valid(raise_exception=True)
        if contact.erased_at or contact.merged_into_id:
            raise Conflict(_("This contact was already erased or merged."))
        contact_erase(contact=contact, origin="api", **_on_record(self))
        return Response({"id": contact.pk, "erased_at": contact.erased_at})


def _on_record(view: ResourceView) -> dict[str, Any]:
    """Who asked, for the privacy request and the audit log the service writes: the person
    (an API key's creator), their address, and the key used."""
    user, key = view.request.user, view.caller.key
    return {
        "requested_by": user if user.is_authenticated else None,
        "ip": audit.client_ip(view.request),
        "audit_detail": {"via": "api", "api_key": key.prefix if key is not None else None},
    }


# --- Events --------------------------------------------------------------------------------


class EventOut(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = (
            "id",
            "contact",
            "name",
            "properties",
            "occurred_at",
            "received_at",
            "session",
            "source",
        )


class EventFiltersIn(Filters):
    contact = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    name = serializers.CharField(required=False, max_length=200)
    occurred_from = serializers.DateTimeField(required=False, help_text="Inclusive.")
    occurred_to = serializers.DateTimeField(required=False, help_text="Exclusive.")


class EventsMixin:
    access = EVENTS
    caller: Caller

    def visible(self) -> QuerySet[Event]:
        return restricted(Event.objects.all(), self.caller, "contact_id")


class EventList(EventsMixin, ListView):
    """Events, newest first."""

    serializer_class = EventOut
    filters = EventFiltersIn
    ordering = ("-occurred_at", "-id")
    lookups = {
        "contact_id": "contact",
        "name": "name",
        "occurred_at__gte": "occurred_from",
        "occurred_at__lt": "occurred_to",
    }


class EventDetail(EventsMixin, DetailView):
    serializer_class = EventOut


# --- Orders --------------------------------------------------------------------------------


class OrderLineOut(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ("sku", "name", "quantity", "unit_price", "total", "product")


class RefundOut(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ("shop_refund_id", "amount", "reason", "refunded_at")


class OrderOut(serializers.ModelSerializer):
    lines = OrderLineOut(many=True, read_only=True)
    refunds = RefundOut(many=True, read_only=True)

    class Meta:
        model = Order
        fields = (
            "id",
            "contact",
            "source",
            "shop_order_id",
            "order_number",
            "status",
            "currency",
            "rate_to_base",
            "subtotal",
            "discount_total",
            "shipping_total",
            "tax_total",
            "total",
            "refunded_total",
            "coupon_codes",
            "placed_at",
            "created_at",
            "lines",
            "refunds",
        )


class OrderFiltersIn(Filters):
    contact = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(choices=Order.Status.values, required=False)
    placed_from = serializers.DateTimeField(required=False, help_text="Inclusive.")
    placed_to = serializers.DateTimeField(required=False, help_text="Exclusive.")


class OrdersMixin:
    access = ORDERS
    caller: Caller

    def visible(self) -> QuerySet[Order]:
        orders = Order.objects.prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("pk")),
            Prefetch("refunds", queryset=Refund.objects.order_by("refunded_at", "pk")),
        )
        return restricted(orders, self.caller, "contact_id")


class OrderList(OrdersMixin, ListView):
    """Orders with their lines and refunds, most recently placed first."""

    serializer_class = OrderOut
    filters = OrderFiltersIn
    ordering = ("-placed_at", "-id")
    lookups = {
        "contact_id": "contact",
        "status": "status",
        "placed_at__gte": "placed_from",
        "placed_at__lt": "placed_to",
    }


class OrderDetail(OrdersMixin, DetailView):
    serializer_class = OrderOut


# --- Segments ------------------------------------------------------------------------------


class SegmentOut(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = (
            "id",
            "name",
            "description",
            "kind",
            "state",
            "member_count",
            "computed_at",
            "created_at",
            "updated_at",
        )


class SegmentFiltersIn(Filters):
    kind = serializers.ChoiceField(choices=Segment.Kind.values, required=False)


class MemberOut(serializers.ModelSerializer):
    contact = serializers.IntegerField(source="contact_id")
    email = serializers.CharField(source="contact.email")

    class Meta:
        model = SegmentMembership
        fields = ("contact", "email", "entered_at")


class SegmentsMixin:
    """Segments are everyone's who sees contacts (a sales rep does not: 403)."""

    access = SEGMENTS
    caller: Caller

    def visible(self) -> QuerySet[Segment]:
        return Segment.objects.all()


class SegmentList(SegmentsMixin, ListView):
    """Segments, lists, RFM segments and personas, newest first, with their member count."""

    serializer_class = SegmentOut
    filters = SegmentFiltersIn
    lookups = {"kind": "kind"}


class SegmentDetail(SegmentsMixin, DetailView):
    serializer_class = SegmentOut


class SegmentMembers(SegmentsMixin, ListView):
    """The segment's current members, most recently entered first."""

    serializer_class = MemberOut
    ordering = ("-entered_at", "-id")

    def get_queryset(self) -> QuerySet[SegmentMembership]:
        segment = generics.get_object_or_404(self.visible(), pk=self.kwargs["pk"])
        members = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
        members = members.select_related("contact").only(
            "id", "entered_at", "contact_id", "contact__email"
        )
        return restricted(members, self.caller, "contact_id")


urlpatterns = [
    path("contacts/", ContactList.as_view(), name="api_contacts"),
    path("contacts/merge/", ContactMerge.as_view(), name="api_contact_merge"),
    path("contacts/<int:pk>/", ContactDetail.as_view(), name="api_contact"),
    path("contacts/<int:pk>/export/", ContactExport.as_view(), name="api_contact_export"),
    path("contacts/<int:pk>/erase/", ContactErase.as_view(), name="api_contact_erase"),
    path("events/", EventList.as_view(), name="api_events"),
    path("events/<int:pk>/", EventDetail.as_view(), name="api_event"),
    path("orders/", OrderList.as_view(), name="api_orders"),
    path("orders/<int:pk>/", OrderDetail.as_view(), name="api_order"),
    path("segments/", SegmentList.as_view(), name="api_segments"),
    path("segments/<int:pk>/", SegmentDetail.as_view(), name="api_segment"),
    path("segments/<int:pk>/members/", SegmentMembers.as_view(), name="api_segment_members"),
]
