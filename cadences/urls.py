from django.urls import include, path

from cadences.views_panel import contact_enroll, contact_sales_panel

urlpatterns = [
    path("queue/", include("cadences.urls_queue")),
    path("cadences/", include("cadences.urls_cadences")),
    path("team/", include("cadences.urls_team")),
    path("contacts/<int:pk>/sales-panel/", contact_sales_panel, name="contact_sales_panel"),
    path("contacts/<int:pk>/enroll/", contact_enroll, name="contact_enroll"),
]
