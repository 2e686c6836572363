from django.urls import path

from growth.views import SectionView

urlpatterns = [
    path("queue/", SectionView.as_view(section_key="queue"), name="queue"),
    path("cadences/", SectionView.as_view(section_key="cadences"), name="cadences"),
    path("team/", SectionView.as_view(section_key="team"), name="team"),
]
