from django.urls import include, path

from analytics import views_dashboards, views_orders, views_targets

urlpatterns = [
    path("dashboards/", views_dashboards.manager_dashboard, name="dashboards"),
    path(
        "dashboards/marketing/", views_dashboards.marketing_dashboard, name="dashboards_marketing"
    ),
    path("dashboards/sales/", views_dashboards.sales_dashboard, name="dashboards_sales"),
    path("dashboards/orders/", views_orders.order_list, name="dashboards_orders"),
    path("dashboards/definitions/", views_dashboards.definitions, name="dashboards_definitions"),
    path("dashboards/export/<slug:figure>.csv", views_dashboards.export, name="dashboards_export"),
    path("dashboards/targets/", views_targets.funnel_targets, name="dashboards_targets"),
    path("", include("analytics.urls_spend")),
    path("", include("analytics.urls_rates")),
]
