from django.urls import path

from growth.views import SectionView

urlpatterns = [
    path("settings/sources/", SectionView.as_view(section_key="sources"), name="sources"),
    path("settings/inbound/", SectionView.as_view(section_key="inbound"), name="inbound"),
]
