from django.urls import path

from growth.views import SectionView

urlpatterns = [
    path("", SectionView.as_view(section_key="queue"), name="queue"),
]
