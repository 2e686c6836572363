from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from growth import views, views_account, views_api_keys, views_audit, views_metrics
from growth.login import ThrottledLoginView

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("account/language/", views_account.language, name="account_language"),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language, for the sign-in page
    path("settings/users/", views.user_list, name="users"),
    path("settings/users/new/", views.user_create, name="user_create"),
    path("settings/users/<int:pk>/", views.user_edit, name="user_edit"),
    path("settings/audit/", views_audit.audit_log, name="audit"),
    path("settings/audit/export.csv", views_audit.audit_export, name="audit_export"),
    path("system/", views.system, name="system"),
    path("metrics", views_metrics.metrics, name="metrics"),  # Prometheus, token or admin
    path("settings/api-keys/", views_api_keys.key_list, name="api_keys"),
    path("settings/api-keys/new/", views_api_keys.key_create, name="api_key_create"),
    path("settings/api-keys/<int:pk>/created/", views_api_keys.key_created, name="api_key_created"),
    path("settings/api-keys/<int:pk>/revoke/", views_api_keys.key_revoke, name="api_key_revoke"),
    path("", include("growth.api.urls")),  # /api/schema/, /api/docs/
    path("api/v1/", include("leads.api")),
    path("api/v1/", include("automations.api")),
    path("api/v1/", include("leads.api_lifecycle")),
    path("api/v1/", include("cadences.api")),
    path("api/v1/kpis/", include("analytics.api_kpis")),
    path("", include("leads.urls")),
    path("", include("automations.urls")),
    path("", include("cadences.urls")),
    path("", include("analytics.urls")),
    path("django-admin/", admin.site.urls),
]

handler403 = "growth.views.permission_denied"
