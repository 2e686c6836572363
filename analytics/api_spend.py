"""REST API for ad spend: `/api/v1/ad-spend/`.

GET lists spend (filters `from`, `to`, `channel`, `campaign`; paginated). POST takes a JSON
list of rows `{date, channel, campaign, cost, currency, clicks, impressions}` and saves them
all or none: 201 with counts, or 400 with `{"errors": [{"row", "field", "message"}]}` where
`row` is the position in the list (the first is 1) and `field` is null for the whole row or
body. Rows are upserted on (date, channel, campaign), so a retried call has one effect.

Built on growth.api: an API key with the `ad_spend` scope (read to list, write to save), or
a signed-in person with the "Import ad spend" capability. Unlike the newer resources it keeps
page numbers (`count`, `page`, `page_size`) and its row-level error body for saves.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from analytics import selectors_spend as selectors
from analytics.services import spend as services
from growth.api.permissions import Access
from growth.api.views import ApiView
from growth.roles import Capability

MAX_ROWS = 10_000
# Ten thousand rows of ordinary length fit well inside; checked before the body is read.
MAX_BODY_BYTES = 5 * 1024 * 1024


AD_SPEND = Access("ad_spend", read=[Capability.MANAGE_AD_SPEND], write=[Capability.MANAGE_AD_SPEND])


class SpendPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def _body_error(message: str) -> Response:
    return Response(
        {"errors": [{"row": None, "field": None, "message": message}]},
        status=status.HTTP_400_BAD_REQUEST,
    )


class RowIn(serializers.Serializer):
    """One row of a save (checked by the spend service, which reports every bad row)."""

    date = serializers.DateField()
    channel = serializers.CharField(max_length=80)
    campaign = serializers.CharField(required=False, allow_blank=True, max_length=200)
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField(required=False, max_length=3)
    clicks = serializers.IntegerField(required=False, min_value=0)
    impressions = serializers.IntegerField(required=False, min_value=0)


class SavedOut(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class RowErrorOut(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class RowErrorsOut(serializers.Serializer):
    errors = RowErrorOut(many=True)  # type: ignore[assignment]  # taken off the class by DRF


class SpendFilters(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        # Named as the query parameters are; "from" cannot be a class attribute.
        return {
            "from": serializers.DateField(required=False),
            "to": serializers.DateField(required=False),
            "channel": serializers.CharField(required=False, allow_blank=True, max_length=80),
            "campaign": serializers.CharField(required=False, allow_blank=True, max_length=200),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and end < start:
            raise serializers.ValidationError({"to": _("The period ends before it starts.")})
        return attrs


class SpendRowOut(serializers.Serializer):
    date = serializers.DateField(source="day")
    channel = serializers.CharField()
    campaign = serializers.CharField()
    currency = serializers.CharField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    rate_to_base = serializers.DecimalField(max_digits=16, decimal_places=8)
    cost_base = serializers.DecimalField(max_digits=14, decimal_places=2)
    clicks = serializers.IntegerField()
    impressions = serializers.IntegerField()
    spend_import = serializers.IntegerField(source="spend_import_id", allow_null=True)
    updated_at = serializers.DateTimeField()


class SpendPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SpendRowOut(many=True)


class AdSpendApi(ApiView):
    access = AD_SPEND
    parser_classes = [JSONParser]

    def body_limit(self) -> int | None:
        return None  # checked in post(), with this API's own error body

    FilterSerializer = SpendFilters
    OutputSerializer = SpendRowOut

    @extend_schema(
        parameters=[
            FilterSerializer,
            OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="At most 1000."),
        ],
        responses={200: SpendPageOut},
    )
    def get(self, request: Request) -> Response:
        """Ad spend rows, with filters; page numbers."""
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        rows = selectors.ad_spend_list(
            start=data.get("from"),
            end=data.get("to"),
            channel=data.get("channel", ""),
            campaign=data.get("campaign", ""),
        )
        paginator = SpendPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(request=RowIn(many=True), responses={201: SavedOut, 400: RowErrorsOut})
    def post(self, request: Request) -> Response:
        """Save rows, all or none; upserted on (date, channel, campaign)."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            return _body_error(
                _("The body is larger than %(mb)s MB: send at most %(n)s rows a call.")
                % {"mb": MAX_BODY_BYTES // (1024 * 1024), "n": MAX_ROWS}
            )
        try:
            rows = request.data
        except ParseError as error:
            return _body_error(_("The body is not valid JSON: %(error)s") % {"error": error})
        if not isinstance(rows, list):
            return _body_error(_("The body must be a JSON list of rows."))
        if len(rows) > MAX_ROWS:
            return _body_error(
                _("%(n)s rows sent; at most %(max)s are accepted a call. Send them in parts.")
                % {"n": len(rows), "max": MAX_ROWS}
            )
        try:
            counts = services.spend_rows_save(rows=rows, user=request.user)
        except services.SpendRowsInvalid as invalid:
            errors = [
                {"row": e.row, "field": e.column or None, "message": e.message}
                for e in invalid.row_errors
            ]
            return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response(counts, status=status.HTTP_201_CREATED)
