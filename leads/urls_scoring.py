from django.urls import path

from leads import views_scoring as views

urlpatterns = [
    path("scoring/", views.rule_list, name="scoring"),
    path("scoring/rules/new/", views.rule_create, name="scoring_rule_new"),
    path("scoring/rules/preview/", views.rule_preview, name="scoring_rule_preview"),
    path("scoring/rules/<int:pk>/", views.rule_detail, name="scoring_rule_detail"),
    path("scoring/rules/<int:pk>/edit/", views.rule_edit, name="scoring_rule_edit"),
    path("scoring/rules/<int:pk>/preview/", views.rule_preview, name="scoring_rule_preview_edit"),
    path("scoring/rules/<int:pk>/delete/", views.rule_delete, name="scoring_rule_delete"),
    path("scoring/models/", views.model_list, name="scoring_models"),
    path("scoring/models/new/", views.model_edit, name="scoring_model_new"),
    path("scoring/models/<int:pk>/", views.model_edit, name="scoring_model_edit"),
    path("scoring/recompute/", views.recompute_start, name="scoring_recompute"),
    path("scoring/recompute/<int:pk>/", views.recompute_status, name="scoring_recompute_status"),
    path(
        "scoring/contacts/<int:pk>/panel/",
        views.contact_score_panel,
        name="contact_score_panel",
    ),
]
