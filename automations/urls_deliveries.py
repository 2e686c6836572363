"""The outbox pages: deliveries, the sending policy and the suppression list."""

from django.urls import path

from automations import views_deliveries as views

urlpatterns = [
    path("deliveries/", views.delivery_list, name="deliveries"),
    path("deliveries/policy/", views.policy_edit, name="delivery_policy"),
    path("deliveries/suppressions/", views.suppression_list, name="suppressions"),
    path(
        "deliveries/suppressions/<int:pk>/remove/",
        views.suppression_remove,
        name="suppression_remove",
    ),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery_detail"),
    path("deliveries/<int:pk>/html/", views.delivery_html, name="delivery_html"),
    path("deliveries/<int:pk>/cancel/", views.delivery_cancel, name="delivery_cancel"),
    path("deliveries/<int:pk>/resend/", views.delivery_resend, name="delivery_resend"),
]
