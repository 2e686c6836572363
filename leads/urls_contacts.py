from django.urls import path

from leads import views_contacts, views_data

urlpatterns = [
    path("contacts/", views_contacts.contact_list, name="contacts"),
    path("contacts/export.csv", views_contacts.contact_export, name="contacts_export"),
    path("contacts/add-to-list/", views_contacts.contact_list_add, name="contacts_add_to_list"),
    path("contacts/mine/", views_contacts.my_contacts, name="my_contacts"),
    path("contacts/<int:pk>/", views_contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/notes/", views_contacts.contact_note_add, name="contact_note_add"),
    path("contacts/<int:pk>/merge/", views_data.contact_merge_preview, name="contact_merge"),
    path("contacts/<int:pk>/merge/run/", views_data.contact_merge_run, name="contact_merge_run"),
    path(
        "contacts/<int:pk>/export.json", views_data.contact_export_json, name="contact_export_json"
    ),
    path("contacts/<int:pk>/erase/", views_data.contact_erase_view, name="contact_erase"),
]
