"""The demo shop: a believable storefront's traffic, written through the real ingestion path."""
