from django.urls import path

from leads import views_segments as views

urlpatterns = [
    path("segments/", views.segment_list, name="segments"),
    path("segments/personas/", views.persona_list, name="personas"),
    path("segments/new/", views.segment_new, name="segment_new"),
    path("segments/builder/", views.segment_builder, name="segment_builder"),
    path("segments/preview/", views.segment_preview, name="segment_preview"),
    path("segments/<int:pk>/", views.segment_detail, name="segment_detail"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/status/", views.segment_status, name="segment_status"),
    path("segments/<int:pk>/members.csv", views.segment_export, name="segment_export"),
    path("segments/<int:pk>/delete/", views.segment_delete, name="segment_delete"),
    path("segments/<int:pk>/upload/", views.list_upload, name="segment_list_upload"),
    path("segments/<int:pk>/add/", views.list_add_filtered, name="segment_list_add"),
    path("segments/<int:pk>/remove/", views.list_remove, name="segment_list_remove"),
    path("contacts/<int:pk>/segments/", views.contact_panel, name="contact_segments"),
    path(
        "contacts/<int:pk>/segments/change/",
        views.contact_list_change,
        name="contact_segments_change",
    ),
    path(
        "contacts/<int:pk>/segments/<int:segment_pk>/why/",
        views.contact_explain,
        name="contact_segment_explain",
    ),
]
