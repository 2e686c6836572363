from django.urls import path

from growth.views import SectionView

urlpatterns = [
    path("dashboards/", SectionView.as_view(section_key="dashboards"), name="dashboards"),
    path("ad-spend/", SectionView.as_view(section_key="ad_spend"), name="ad_spend"),
]
