from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


def money() -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))


class Product(models.Model):
    source = models.ForeignKey("leads.Source", null=True, on_delete=models.SET_NULL)
    external_id = models.CharField(max_length=120)
    sku = models.CharField(max_length=120, blank=True)
    name = models.CharField(max_length=300)
    category = models.CharField(max_length=200, blank=True)
    price = money()
    currency = models.CharField(max_length=3, blank=True)
    url = models.TextField(blank=True)
    image_url = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="product_unique_external"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PAID = "paid", _("paid")
        FULFILLED = "fulfilled", _("fulfilled")
        CANCELLED = "cancelled", _("cancelled")
        REFUNDED = "refunded", _("refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("partially refunded")

    source = models.ForeignKey("leads.Source", on_delete=models.PROTECT)
    shop_order_id = models.CharField(max_length=120)
    order_number = models.CharField(max_length=60, blank=True)
    contact = models.ForeignKey(
        "leads.Contact", null=True, on_delete=models.SET_NULL, related_name="orders"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    currency = models.CharField(max_length=3)
    # Converts this order's currency to the shop's reporting currency, stored with the order.
    rate_to_base = models.DecimalField(max_digits=16, decimal_places=8, default=Decimal("1"))
    subtotal = money()
    discount_total = money()
    shipping_total = money()
    tax_total = money()
    total = money()
    refunded_total = money()
    coupon_codes = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    placed_at = models.DateTimeField()
    shop_updated_at = models.DateTimeField()  # newer updates win; older ones are ignored
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "shop_order_id"], name="order_unique_shop_id")
        ]
        indexes = [
            models.Index(fields=["contact", "-placed_at"], name="order_contact"),
            models.Index(fields=["-placed_at"], name="order_placed"),
            models.Index(fields=["status", "-placed_at"], name="order_status"),
        ]

    def __str__(self) -> str:
        return self.order_number or self.shop_order_id


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL)
    external_id = models.CharField(max_length=120, blank=True)
    sku = models.CharField(max_length=120, blank=True)
    name = models.CharField(max_length=300)
    quantity = models.IntegerField(default=1)
    unit_price = money()
    total = money()

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    shop_refund_id = models.CharField(max_length=120)
    amount = money()
    reason = models.CharField(max_length=300, blank=True)
    refunded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "shop_refund_id"], name="refund_unique_shop_id"
            )
        ]

    def __str__(self) -> str:
        return f"refund {self.shop_refund_id}"
