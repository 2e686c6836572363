from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from growth import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("settings/users/", views.user_list, name="users"),
    path("settings/users/new/", views.user_create, name="user_create"),
    path("settings/users/<int:pk>/", views.user_edit, name="user_edit"),
    path("system/", views.system, name="system"),
    path("", include("leads.urls")),
    path("", include("automations.urls")),
    path("", include("cadences.urls")),
    path("", include("analytics.urls")),
    path("django-admin/", admin.site.urls),
]

handler403 = "growth.views.permission_denied"
