"""Outbound webhook subscriptions, under the admin's settings."""

from django.urls import path

from automations import views_webhooks as views

urlpatterns = [
    path("settings/webhooks/", views.webhook_list, name="webhooks"),
    path("settings/webhooks/new/", views.webhook_create, name="webhook_create"),
    path("settings/webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<int:pk>/edit/", views.webhook_edit, name="webhook_edit"),
    path("settings/webhooks/<int:pk>/rotate/", views.webhook_rotate, name="webhook_rotate"),
    path("settings/webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path("settings/webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path(
        "settings/webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        views.webhook_redeliver,
        name="webhook_redeliver",
    ),
]
