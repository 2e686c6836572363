"""The project's URLs plus the outbox pages, for tests that run before
`automations.urls_deliveries` is included in the project's URLs (harmless after)."""

from django.urls import include, path

from growth.urls import handler403
from growth.urls import urlpatterns as base

urlpatterns = [*base, path("", include("automations.urls_deliveries"))]

__all__ = ["handler403", "urlpatterns"]
