"""Query-string filters of a list, declared as a serializer so they are validated (400 with
the field named) and documented in the schema. Unknown names are refused: a typo in a
filter must not silently list everything."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.request import Request

# Parameters the pagination reads, allowed on every list.
PAGINATION = ("cursor", "page_size")


class Filters(serializers.Serializer):
    @classmethod
    def parse(cls, request: Request) -> dict[str, Any]:
        known = {*cls().fields, *PAGINATION}
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            names = ", ".join(sorted(known)) or _("none")
            raise serializers.ValidationError(
                {
                    name: [
                        _("Unknown parameter; the known ones are: %(names)s.") % {"names": names}
                    ]
                    for name in unknown
                }
            )
        parsed = cls(data=request.query_params)
        parsed.is_valid(raise_exception=True)
        return dict(parsed.validated_data)


class NoFilters(Filters):
    pass


class Strict(serializers.Serializer):
    """A request body that refuses fields it does not know (or may not change), instead of
    ignoring them: the caller learns at once that the field was not written."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("This field cannot be set here.")] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictModelSerializer(Strict, serializers.ModelSerializer):
    pass
