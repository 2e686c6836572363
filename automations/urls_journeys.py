"""URLs of the journey pages. Included by the project's URLs (through `automations.urls`)
in place of the placeholder section page; the list keeps the name `journeys`, which the
navigation links to."""

from django.urls import path

from automations import views_journeys as views

urlpatterns = [
    path("journeys/", views.journey_list, name="journeys"),
    path("journeys/new/", views.journey_create, name="journey_create"),
    path("journeys/install/", views.journey_install, name="journey_install"),
    path("journeys/<int:pk>/", views.journey_builder, name="journey_builder"),
    path("journeys/<int:pk>/draft/", views.journey_draft, name="journey_draft"),
    path("journeys/<int:pk>/check/", views.journey_check, name="journey_check"),
    path("journeys/<int:pk>/publish/", views.journey_publish_view, name="journey_publish"),
    path("journeys/<int:pk>/status/", views.journey_status_view, name="journey_status"),
    path("journeys/<int:pk>/results/", views.journey_results, name="journey_results"),
]
