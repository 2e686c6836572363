from django.urls import include, path

from growth.views import SectionView

urlpatterns = [
    path("dashboards/", SectionView.as_view(section_key="dashboards"), name="dashboards"),
    path("", include("analytics.urls_spend")),
    path("", include("analytics.urls_rates")),
]
