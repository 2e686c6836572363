from django.urls import path

from leads import views_lifecycle as views

urlpatterns = [
    path("scoring/definitions/", views.definition_list, name="qualification_definitions"),
    path("scoring/definitions/new/", views.definition_edit, name="qualification_definition_new"),
    path(
        "scoring/definitions/new/preview/",
        views.definition_preview,
        name="qualification_definition_new_preview",
    ),
    path("scoring/definitions/<int:pk>/", views.definition_edit, name="qualification_definition"),
    path(
        "scoring/definitions/<int:pk>/preview/",
        views.definition_preview,
        name="qualification_definition_preview",
    ),
    path("scoring/lifecycle/", views.lifecycle_settings, name="lifecycle_settings"),
    path("contacts/<int:pk>/stage/", views.contact_stage_move, name="contact_stage_move"),
    path(
        "contacts/<int:pk>/purchase-intent/",
        views.contact_purchase_intent,
        name="contact_purchase_intent",
    ),
]
