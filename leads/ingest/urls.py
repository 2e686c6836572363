from django.urls import path

from leads.ingest import segment, shop_webhooks

urlpatterns = [
    path("ingest/v1/<str:kind>", segment.endpoint, name="ingest"),
    path("webhooks/shopify/<slug:slug>/", shop_webhooks.shopify, name="webhook_shopify"),
    path(
        "webhooks/woocommerce/<slug:slug>/", shop_webhooks.woocommerce, name="webhook_woocommerce"
    ),
]
