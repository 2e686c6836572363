from django.urls import path

from cadences import views_team

urlpatterns = [
    path("", views_team.team_board, name="team"),
    path("export/<slug:table>.csv", views_team.team_export, name="team_export"),
]
