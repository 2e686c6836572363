from django.urls import path

from analytics import api_spend, views_spend

urlpatterns = [
    path("ad-spend/", views_spend.spend_list, name="ad_spend"),
    path("ad-spend/upload/", views_spend.spend_upload, name="ad_spend_upload"),
    path("ad-spend/imports/<int:pk>/", views_spend.spend_import_detail, name="ad_spend_import"),
    path("ad-spend/other-costs/", views_spend.other_costs, name="ad_spend_other_costs"),
    path(
        "ad-spend/other-costs/<int:pk>/delete/",
        views_spend.other_cost_delete,
        name="ad_spend_other_cost_delete",
    ),
    path("api/v1/ad-spend/", api_spend.AdSpendApi.as_view(), name="api_ad_spend"),
]
