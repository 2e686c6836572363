from django.urls import path

from leads import views_admin as views

urlpatterns = [
    path("settings/sources/", views.source_list, name="sources"),
    path("settings/sources/new/", views.source_new, name="source_create"),
    path("settings/sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("settings/sources/<int:pk>/rotate/", views.source_rotate_view, name="source_rotate"),
    path("settings/inbound/", views.inbound_list, name="inbound"),
    path("settings/inbound/retry/", views.inbound_retry_all, name="inbound_retry_all"),
    path("settings/inbound/<int:pk>/", views.inbound_detail, name="inbound_detail"),
    path("settings/inbound/<int:pk>/retry/", views.inbound_retry_one, name="inbound_retry"),
]
