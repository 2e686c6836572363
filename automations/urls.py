from django.urls import path

from growth.views import SectionView

urlpatterns = [
    path("journeys/", SectionView.as_view(section_key="journeys"), name="journeys"),
    path("message-templates/", SectionView.as_view(section_key="templates"), name="templates"),
]
