from django.urls import path

from leads import views_quality as views

urlpatterns = [
    path("scoring/quality/", views.lead_quality, name="lead_quality"),
    path(
        "scoring/quality/rules/<int:pk>/accept/",
        views.lead_quality_accept,
        name="lead_quality_accept",
    ),
    path(
        "scoring/quality/rules/accept/",
        views.lead_quality_accept_all,
        name="lead_quality_accept_all",
    ),
    path("contacts/<int:pk>/quality/", views.contact_rate, name="contact_rate"),
]
