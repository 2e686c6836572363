from django.urls import path

from cadences import views_cadences as views

urlpatterns = [
    path("", views.cadence_list, name="cadences"),
    path("new/", views.cadence_new, name="cadence_new"),
    path("install/", views.cadence_install, name="cadence_install"),
    path("reps/", views.rep_list, name="cadence_reps"),
    path("reps/new/", views.rep_new, name="cadence_rep_new"),
    path("reps/<int:pk>/edit/", views.rep_edit, name="cadence_rep_edit"),
    path("teams/new/", views.team_new, name="cadence_team_new"),
    path("teams/<int:pk>/edit/", views.team_edit, name="cadence_team_edit"),
    path("sla/", views.sla_edit, name="cadence_sla"),
    path("<int:pk>/", views.cadence_detail, name="cadence_detail"),
    path("<int:pk>/edit/", views.cadence_edit, name="cadence_edit"),
    path("<int:pk>/publish/", views.cadence_publish_view, name="cadence_publish"),
    path("<int:pk>/status/", views.cadence_status, name="cadence_status"),
    path("<int:pk>/enroll/", views.cadence_enroll, name="cadence_enroll"),
    path("<int:pk>/enroll-segment/", views.cadence_enroll_segment, name="cadence_enroll_segment"),
    path(
        "<int:pk>/enrollments/<int:enrollment>/",
        views.enrollment_action,
        name="cadence_enrollment_action",
    ),
]
