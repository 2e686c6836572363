from django.urls import path

from growth.views import SectionView

urlpatterns = [
    path("contacts/", SectionView.as_view(section_key="contacts"), name="contacts"),
    path("scoring/", SectionView.as_view(section_key="scoring"), name="scoring"),
    path("segments/", SectionView.as_view(section_key="segments"), name="segments"),
]
