"""Routes of the API: the schema, the docs and /api/v1/ (the apps' endpoints are added in
growth/urls.py next to these)."""

from __future__ import annotations

from django.urls import path

from growth.api.views import DocsView, SchemaView

urlpatterns = [
    path("api/schema/", SchemaView.as_view(), name="api_schema"),
    path("api/docs/", DocsView.as_view(), name="api_docs"),
]
