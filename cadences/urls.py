from django.urls import include, path

urlpatterns = [
    path("queue/", include("cadences.urls_queue")),
    path("cadences/", include("cadences.urls_cadences")),
    path("team/", include("cadences.urls_team")),
]
