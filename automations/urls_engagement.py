"""The engagement pages: the inbox (team tasks), surveys with their public answer page,
and discount codes. Included from the project's URLs (growth/urls.py)."""

from django.urls import path

from automations import views_codes as codes
from automations import views_inbox as inbox
from automations import views_surveys as surveys

urlpatterns = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/<int:pk>/done/", inbox.task_done, name="inbox_task_done"),
    # Public: reached from e-mail and SMS links, no sign-in (the token is signed).
    path("s/<str:token>/", surveys.survey_answer, name="survey_answer"),
    path("s/<str:token>/<str:score>/", surveys.survey_answer_score, name="survey_answer_score"),
    path("surveys/", surveys.survey_list, name="surveys"),
    path("surveys/new/", surveys.survey_create, name="survey_new"),
    path("surveys/<int:pk>/", surveys.survey_results, name="survey_results"),
    path("surveys/<int:pk>/edit/", surveys.survey_edit, name="survey_edit"),
    path("discount-codes/", codes.campaign_list, name="discount_codes"),
    path("discount-codes/new/", codes.campaign_create, name="discount_campaign_new"),
    path("discount-codes/<int:pk>/", codes.campaign_detail, name="discount_campaign"),
    path("discount-codes/<int:pk>/upload/", codes.campaign_upload, name="discount_campaign_upload"),
]
