"""Shopify and WooCommerce webhooks, signed as the shops sign them."""

import pytest

from leads.models import Consent, Contact, Event, InboundDelivery, Order, PrivacyRequest
from tests.leads.helpers import post_shopify, post_woo, process_all
from tests.leads.payloads import shopify_order, shopify_refund, woo_order

pytestmark = pytest.mark.django_db


def test_shopify_order_creates_contact_order_event_and_consent(client, shopify_source):
    response = post_shopify(
        client, shopify_source, "orders/create", shopify_order(), webhook_id="wh-1"
    )
    assert response.status_code == 200
    assert process_all() == 1
    contact = Contact.objects.get()
    assert (
        contact.first_name,
        contact.last_name,
        contact.email,
        contact.country,
        contact.company,
    ) == ("Bob", "Norman", "bob.norman@example.com", "CA", "Norman Ltd")
    order = Order.objects.get()
    assert (
        order.order_number,
        str(order.total),
        str(order.discount_total),
        str(order.shipping_total),
        order.status,
    ) == ("#9469", "409.94", "10.00", "10.00", "paid")
    assert order.coupon_codes == ["TENOFF"]
    assert order.lines.count() == 2 and order.contact == contact
    assert Event.objects.get().name == "Order Completed"
    email = Consent.objects.get(channel="email")
    assert email.status == "granted" and email.source == f"shopify:{shopify_source.slug}"
    assert not Consent.objects.filter(channel="sms").exists()  # "not_subscribed" says nothing
    assert set(contact.identities.values_list("kind", flat=True)) == {
        "shop_customer",
        "email",
        "phone",
    }


def test_shopify_duplicate_delivery_has_one_effect(client, shopify_source):
    for _ in range(2):
        assert (
            post_shopify(
                client, shopify_source, "orders/create", shopify_order(), webhook_id="same"
            ).status_code
            == 200
        )
    assert InboundDelivery.objects.count() == 1
    process_all()
    assert Order.objects.count() == 1 and Event.objects.count() == 1


def test_out_of_order_updates_keep_the_newest_state(client, shopify_source):
    newer = shopify_order(updated_at="2026-11-21T10:00:00-05:00", financial_status="refunded")
    older = shopify_order(updated_at="2026-11-20T11:00:00-05:00", financial_status="paid")
    post_shopify(client, shopify_source, "orders/updated", newer, webhook_id="w-new")
    process_all()
    post_shopify(client, shopify_source, "orders/updated", older, webhook_id="w-old")
    process_all()
    order = Order.objects.get()
    assert order.status == "refunded"
    assert InboundDelivery.objects.get(delivery_id="w-old").status == "ignored"


def test_shopify_refund_updates_the_order(client, shopify_source):
    post_shopify(client, shopify_source, "orders/create", shopify_order(), webhook_id="o")
    post_shopify(client, shopify_source, "refunds/create", shopify_refund(), webhook_id="r")
    process_all()
    order = Order.objects.get()
    assert str(order.refunded_total) == "99.50" and order.status == "partially_refunded"
    assert order.refunds.get().reason == "wrong colour"
    assert Event.objects.filter(name="Order Refunded").count() == 1


def test_refund_before_its_order_fails_visibly_then_retries(client, shopify_source):
    from leads.services.inbound import inbound_retry

    post_shopify(client, shopify_source, "refunds/create", shopify_refund(), webhook_id="r")
    process_all()
    failed = InboundDelivery.objects.get()
    assert failed.status == "failed" and "unknown order" in failed.error
    post_shopify(client, shopify_source, "orders/create", shopify_order(), webhook_id="o")
    process_all()
    assert inbound_retry() == 1
    process_all()
    failed.refresh_from_db()
    assert failed.status == "processed" and failed.attempts == 2


def test_unknown_topic_is_stored_and_ignored(client, shopify_source):
    post_shopify(
        client, shopify_source, "inventory_levels/update", {"inventory_item_id": 1}, webhook_id="i"
    )
    process_all()
    delivery = InboundDelivery.objects.get()
    assert delivery.status == "ignored" and "no handler" in delivery.error


def test_checkout_started_once_per_checkout(client, shopify_source):
    checkout = {
        "id": 1,
        "token": "tok-1",
        "email": "c@example.com",
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-20T10:00:00Z",
        "total_price": "10.00",
        "line_items": [],
    }
    post_shopify(client, shopify_source, "checkouts/create", checkout, webhook_id="c1")
    post_shopify(
        client,
        shopify_source,
        "checkouts/update",
        {**checkout, "updated_at": "2026-11-20T10:05:00Z"},
        webhook_id="c2",
    )
    process_all()
    assert Event.objects.filter(name="Checkout Started").count() == 1


def test_customer_unsubscribe_denies_consent(client, shopify_source):
    customer = {
        "id": 77,
        "email": "u@example.com",
        "first_name": "U",
        "updated_at": "2026-11-22T10:00:00Z",
        "email_marketing_consent": {
            "state": "unsubscribed",
            "consent_updated_at": "2026-11-22T10:00:00Z",
        },
    }
    post_shopify(client, shopify_source, "customers/update", customer, webhook_id="cu")
    process_all()
    assert Consent.objects.get().status == "denied"


def test_customers_redact_erases_but_keeps_revenue(client, shopify_source):
    post_shopify(client, shopify_source, "orders/create", shopify_order(), webhook_id="o")
    process_all()
    redact = {
        "shop_id": 1,
        "customer": {"id": 115310627314723954, "email": "bob.norman@example.com"},
        "orders_to_redact": [450789469],
    }
    post_shopify(client, shopify_source, "customers/redact", redact, webhook_id="red")
    process_all()
    contact = Contact.objects.get()
    assert contact.erased_at and contact.email == "" and contact.first_name == ""
    assert not contact.identities.exists()
    assert str(Order.objects.get().total) == "409.94"
    assert PrivacyRequest.objects.get().kind == "erase"


def test_customers_data_request_records_an_export(client, shopify_source):
    post_shopify(client, shopify_source, "orders/create", shopify_order(), webhook_id="o")
    post_shopify(
        client,
        shopify_source,
        "customers/data_request",
        {"customer": {"id": 115310627314723954}},
        webhook_id="dr",
    )
    process_all()
    export = PrivacyRequest.objects.get(kind="export").export
    assert export["contact"]["email"] == "bob.norman@example.com"
    assert export["orders"][0]["shop_order_id"] == "450789469"


def test_woocommerce_order(client, woo_source):
    response = post_woo(client, woo_source, "order.created", woo_order(), delivery_id="d-1")
    assert response.status_code == 200
    process_all()
    contact = Contact.objects.get()
    assert (contact.first_name, contact.email, contact.country) == (
        "João",
        "joao.silva@example.com",
        "PT",
    )
    order = Order.objects.get()
    assert (order.currency, str(order.total), order.status, order.lines.get().sku) == (
        "EUR",
        "35.60",
        "paid",
        "WOO-1",
    )


def test_woocommerce_ping_answers_200(client, woo_source):
    response = client.post(
        f"/webhooks/woocommerce/{woo_source.slug}/",
        data="webhook_id=12",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert InboundDelivery.objects.count() == 0


def test_woocommerce_out_of_order(client, woo_source):
    post_woo(
        client,
        woo_source,
        "order.updated",
        woo_order(modified="2026-11-21T10:00:00", status="completed"),
        delivery_id="new",
    )
    post_woo(
        client,
        woo_source,
        "order.updated",
        woo_order(modified="2026-11-20T16:00:00", status="processing"),
        delivery_id="old",
    )
    process_all()
    assert Order.objects.get().status == "fulfilled"
