from django.urls import path

from growth.views import SectionView
from leads import views_contacts

urlpatterns = [
    path("contacts/", views_contacts.contact_list, name="contacts"),
    path("contacts/export.csv", views_contacts.contact_export, name="contacts_export"),
    path("contacts/<int:pk>/", views_contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/notes/", views_contacts.contact_note_add, name="contact_note_add"),
    path("scoring/", SectionView.as_view(section_key="scoring"), name="scoring"),
    path("segments/", SectionView.as_view(section_key="segments"), name="segments"),
]
