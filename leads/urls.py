from django.urls import include, path

urlpatterns = [
    path("", include("leads.ingest.urls")),
    path("", include("leads.urls_contacts")),
    path("", include("leads.urls_admin")),
    path("", include("leads.urls_imports")),
    path("", include("leads.urls_lifecycle")),
    path("", include("leads.urls_scoring")),
    path("", include("leads.urls_quality")),
    path("", include("leads.urls_segments")),
]
