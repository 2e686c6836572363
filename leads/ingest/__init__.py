"""The ways data gets in: Segment-compatible tracking API, Shopify and WooCommerce webhooks."""
