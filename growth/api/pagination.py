"""Cursor pagination, the API's default: pages by a stable order, never by OFFSET, so a list
being written to neither repeats nor skips rows between pages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor as CursorPosition
from rest_framework.pagination import CursorPagination

BIGINT = 2**63


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    # Unique and never changing; a view may order by (time, id) instead (its `ordering`).
    ordering: Any = ("-id",)
    model: type[models.Model] | None = None

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self.model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Any) -> CursorPosition | None:
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                self._check_position(cursor.position)
        except (NotFound, DjangoValidationError, ValueError, OverflowError):
            # A broken or forged cursor is the caller's bad input, not a missing page.
            raise ValidationError(
                {"cursor": [_("This cursor is not valid: use the next or previous link.")]}
            ) from None
        return cursor

    def _check_position(self, position: Any) -> None:
        """The position must be a value of the ordering field: it goes into a WHERE."""
        if self.model is None:
            return
        field = self.model._meta.get_field(self.ordering[0].lstrip("-"))
        assert isinstance(field, models.Field)
        value = field.to_python(position)
        if isinstance(value, int) and not -BIGINT <= value < BIGINT:
            raise ValueError("out of range")

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["next", "previous", "results"]
        return response
