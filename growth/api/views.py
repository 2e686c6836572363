"""Base views of the API, and the schema and docs pages.

`ApiView` is any endpoint: body size limit, the default authentication, permission (the
view's `access`), rate limit and error handling. `ListView` and `DetailView` add the
caller's visible objects (`visible()`), validated filters and cursor pages.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import generics
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request
from rest_framework.views import APIView

from growth.api.errors import PayloadTooLarge
from growth.api.filters import Filters, NoFilters
from growth.api.permissions import Access, Caller, caller


class ApiView(APIView):
    access: Access

    def body_limit(self) -> int | None:
        """Largest body accepted, in bytes; None: the view checks its own."""
        return int(settings.API_MAX_BODY_BYTES)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            # Before the permission check: a read-only key POSTing to a list learns 405.
            raise MethodNotAllowed(request.method or "")
        limit = self.body_limit()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            # Refused before the body is read.
            raise PayloadTooLarge(
                _("The body is %(n)s bytes; at most %(max)s are accepted.")
                % {"n": length, "max": limit}
            )
        super().initial(request, *args, **kwargs)

    @property
    def caller(self) -> Caller:
        return caller(self.request)


class ResourceView(ApiView, generics.GenericAPIView, metaclass=ABCMeta):
    """A resource's views: each concrete one says what its caller may see (`visible`)."""

    filter_backends: Any = []
    filters: type[Filters] = NoFilters
    ordering: tuple[str, ...] = ("-id",)
    # Simple filters: ORM lookup → filter name, applied when the filter is given.
    lookups: dict[str, str] = {}

    @abstractmethod
    def visible(self) -> QuerySet[Any]:
        """Objects the caller may see: a foreign object is then a 404, never data."""

    def filtered(self, queryset: QuerySet[Any], filters: dict[str, Any]) -> QuerySet[Any]:
        """The list narrowed by its validated filters (`lookups`; override for more)."""
        given = {lookup: filters.get(name) for lookup, name in self.lookups.items()}
        return queryset.filter(**{k: v for k, v in given.items() if v is not None})

    def get_queryset(self) -> QuerySet[Any]:
        return self.visible()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return self.filtered(queryset, self.filters.parse(self.request))


class ListView(ResourceView, generics.ListAPIView):
    pass


class DetailView(ResourceView, generics.RetrieveAPIView):
    pass


class SchemaView(SpectacularAPIView):
    pass


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from local files (drf-spectacular-sidecar). The split view serves its
    start-up script as a separate file, so the CSP needs no inline script; our template
    drops the package's inline <style>."""

    template_name = "growth/api_keys/docs.html"
    url_name = "api_schema"
