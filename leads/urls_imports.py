from django.urls import path

from leads.csv_import import views

urlpatterns = [
    path("contacts/imports/", views.import_list, name="imports"),
    path("contacts/imports/new/", views.import_new, name="import_new"),
    path("contacts/imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("contacts/imports/<int:pk>/errors.csv", views.import_errors_csv, name="import_errors_csv"),
]
