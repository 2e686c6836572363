from django.urls import path

from leads.demo import views as demo_views
from leads.ingest import segment, shop_webhooks

urlpatterns = [
    path("ingest/v1/<str:kind>", segment.endpoint, name="ingest"),
    path("webhooks/shopify/<slug:slug>/", shop_webhooks.shopify, name="webhook_shopify"),
    path(
        "webhooks/woocommerce/<slug:slug>/", shop_webhooks.woocommerce, name="webhook_woocommerce"
    ),
    path("demo-shop/", demo_views.storefront, name="demo_storefront"),
    path("demo-shop/products/<str:product_id>/", demo_views.product, name="demo_product"),
]
