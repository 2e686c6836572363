from django.urls import path

from analytics import views_rates

urlpatterns = [
    path("ad-spend/rates/", views_rates.currency_rates, name="currency_rates"),
    path(
        "ad-spend/rates/<str:currency>/delete/",
        views_rates.currency_rate_delete,
        name="currency_rate_delete",
    ),
]
