"""Reading an orders CSV: its targets, guessing the mapping from common exports (Shopify's
orders export first), validating one row, and gathering rows into orders. No database.

An order is one or more ADJACENT rows with the same order id, as every shop export writes
them: order fields come from the first of its rows that has them (Shopify fills them on the
order's first row only) and every row naming a product is one of its lines. The load ends
each chunk at an order boundary (see `order_key`), so an order never straddles two chunks.
Rows of an order repeated further down the file are a second, identical update of it and are
skipped: within one import the first occurrence of an order wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import groupby
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads.csv_import.parsing import (
    IGNORE,
    VALUE_SHOWN,
    Plan,
    Problem,
    _field_value,
    _key,
    mapped_targets,
)
from leads.models import Contact
from leads.services.orders import LineData, OrderData

DEFAULT_CURRENCY = "USD"  # when no column gives one
DEFAULT_STATUS = "paid"
MAX_MONEY = Decimal("1e12")  # money() columns hold 12 digits before the point
CENT = Decimal("0.01")

TARGET_LABELS: dict[str, Any] = {
    "order_id": gettext_lazy("Order id (required)"),
    "order_number": gettext_lazy("Order number"),
    "email": gettext_lazy("E-mail"),
    "phone": gettext_lazy("Phone"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "placed_at": gettext_lazy("Placed at (required)"),
    "currency": gettext_lazy("Currency (3 letters)"),
    "total": gettext_lazy("Total (required)"),
    "subtotal": gettext_lazy("Subtotal"),
    "discount_total": gettext_lazy("Discount"),
    "shipping_total": gettext_lazy("Shipping"),
    "tax_total": gettext_lazy("Tax"),
    "status": gettext_lazy("Status"),
    "coupon_code": gettext_lazy("Coupon code"),
    "sku": gettext_lazy("Line: SKU"),
    "product_name": gettext_lazy("Line: product name"),
    "quantity": gettext_lazy("Line: quantity"),
    "unit_price": gettext_lazy("Line: unit price"),
}
REQUIRED = ("order_id", "placed_at", "total")
REQUIRED_NAMES: dict[str, Any] = {
    "order_id": gettext_lazy("order id"),
    "placed_at": gettext_lazy("date (placed at)"),
    "total": gettext_lazy("total"),
}
LINE_TARGETS = ("sku", "product_name", "quantity", "unit_price")
MONEY_TARGETS = ("total", "subtotal", "discount_total", "shipping_total", "tax_total")
MAX_LENGTHS = {
    "order_id": 120,
    "order_number": 60,
    "sku": 120,
    "product_name": 300,
    "coupon_code": 100,
}
STATUSES = {"pending", "paid", "fulfilled", "cancelled", "refunded", "partially_refunded"}
# What shops call the statuses Growth knows (Shopify's financial status, WooCommerce's).
STATUS_ALIASES = {
    "authorized": "pending",
    "partially_paid": "pending",
    "unpaid": "pending",
    "on_hold": "pending",
    "processing": "paid",
    "completed": "fulfilled",
    "complete": "fulfilled",
    "voided": "cancelled",
    "canceled": "cancelled",
    "failed": "cancelled",
}

# Header names, squeezed to lower-case letters and digits, that surely mean a target.
EXACT_NAMES: dict[str, set[str]] = {
    "order_id": {"orderid", "id", "shoporderid", "transactionid"},
    "order_number": {"name", "ordernumber", "orderno", "ordername", "number"},
    "email": {"email", "emailaddress", "customeremail", "billingemail", "mail"},
    "phone": {"phone", "phonenumber", "billingphone", "customerphone", "mobile"},
    "first_name": {"firstname", "billingfirstname", "customerfirstname"},
    "last_name": {"lastname", "billinglastname", "customerlastname"},
    "placed_at": {
        "createdat",
        "placedat",
        "orderdate",
        "date",
        "datecreated",
        "ordercreatedat",
        "purchasedate",
    },
    "currency": {"currency", "currencycode", "ordercurrency"},
    "total": {"total", "ordertotal", "grandtotal", "totalprice", "ordertotalamount"},
    "subtotal": {"subtotal", "subtotalprice", "ordersubtotal"},
    "discount_total": {"discountamount", "discount", "discounttotal", "totaldiscounts"},
    "shipping_total": {"shipping", "shippingtotal", "shippingamount", "shippingcost"},
    "tax_total": {"taxes", "tax", "taxtotal", "totaltax", "taxamount"},
    "status": {"financialstatus", "status", "orderstatus", "paymentstatus"},
    "coupon_code": {"discountcode", "couponcode", "coupon", "promocode", "vouchercode"},
    "sku": {"lineitemsku", "sku", "productsku", "itemsku"},
    "product_name": {"lineitemname", "productname", "itemname", "product", "lineitemtitle"},
    "quantity": {"lineitemquantity", "quantity", "qty", "itemquantity"},
    "unit_price": {"lineitemprice", "unitprice", "price", "itemprice"},
}


def guess_mapping(header: list[str]) -> dict[str, str]:
    """Each target for the first column whose name surely means it; the rest ignored.

    Without an id column the order number (Shopify's "Name", such as "#1001") is the id.
    """
    guessed: dict[str, str] = {}
    used: set[str] = set()
    for name in header:
        key = _key(name)
        for target, names in EXACT_NAMES.items():
            if key in names and target not in used:
                guessed[name] = target
                used.add(target)
                break
    if "order_id" not in used and "order_number" in used:
        column = next(name for name, target in guessed.items() if target == "order_number")
        guessed[column] = "order_id"
    return {name: guessed.get(name, IGNORE) for name in header}


def target_choices() -> list[tuple[str, str]]:
    return [
        *((target, str(label)) for target, label in TARGET_LABELS.items()),
        (IGNORE, _("Ignore this column")),
    ]


def mapping_errors(header: list[str], mapping: dict[str, str]) -> list[str]:
    errors, chosen = mapped_targets(header, mapping, TARGET_LABELS)
    for target in REQUIRED:
        if target not in chosen:
            errors.append(
                _("No column is mapped to %(target)s: every order needs one.")
                % {"target": TARGET_LABELS[target]}
            )
    return errors


# --- One row ----------------------------------------------------------------------------------


_OFFSET_AFTER_SPACE = re.compile(r"^(.*\d)\s+([+-]\d{2}:?\d{2}|Z)$")


def parse_datetime(value: str) -> datetime | None:
    """ISO 8601, or "YYYY-MM-DD HH:MM[:SS]" with an optional offset after a space (Shopify's
    "2024-01-15 10:23:45 -0500"); UTC when there is no offset. None when unreadable."""
    text = _OFFSET_AFTER_SPACE.sub(r"\1\2", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _money(value: str) -> Decimal | None:
    try:
        amount = Decimal(value.replace(" ", ""))
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) >= MAX_MONEY:
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _value(target: str, raw: str) -> tuple[Any, str | None]:
    """(typed value, problem message or None) of one non-blank cell."""
    if target in ("email", "phone"):
        return _field_value(target, raw)
    if target in ("first_name", "last_name"):
        limit = int(getattr(Contact._meta.get_field(target), "max_length", 0) or 0)
        if len(raw) > limit:
            return raw, _("longer than %(n)s characters") % {"n": limit}
        return raw, None
    if target == "placed_at":
        at = parse_datetime(raw)
        if at is None:
            return raw, _("not a date and time; use 2024-01-31 14:05 or ISO 8601")
        return at, None
    if target == "currency":
        if not re.fullmatch(r"[A-Za-z]{3}", raw):
            return raw, _("a currency is three letters (ISO 4217), such as USD or EUR")
        return raw.upper(), None
    if target in MONEY_TARGETS or target == "unit_price":
        amount = _money(raw)
        if amount is None:
            return raw, _("not an amount; use digits with a point, such as 12.50")
        return amount, None
    if target == "quantity":
        if not re.fullmatch(r"\d{1,9}", raw):
            return raw, _("a quantity is a whole number, such as 2")
        return int(raw), None
    if target == "status":
        status = re.sub(r"[\s-]+", "_", raw.lower())
        status = STATUS_ALIASES.get(status, status)
        if status not in STATUSES:
            return raw, _("status must be one of %(choices)s") % {
                "choices": ", ".join(sorted(STATUSES))
            }
        return status, None
    if target == "coupon_code":
        codes = [code.strip() for code in raw.split(",") if code.strip()]
        if any(len(code) > MAX_LENGTHS["coupon_code"] for code in codes):
            return raw, _("longer than %(n)s characters") % {"n": MAX_LENGTHS["coupon_code"]}
        return codes, None
    if target in MAX_LENGTHS and len(raw) > MAX_LENGTHS[target]:
        return raw, _("longer than %(n)s characters") % {"n": MAX_LENGTHS[target]}
    return raw, None


@dataclass
class OrderRow:
    """One valid row: its order id and every mapped, non-blank value, typed."""

    order_id: str
    values: dict[str, Any] = field(default_factory=dict)


def order_key(plan: Plan, cells: list[str]) -> str:
    """The order id of a row, as cut, or "" when it has none."""
    for index, _column, target in plan.columns:
        if target == "order_id":
            return cells[index].strip()[: MAX_LENGTHS["order_id"]] if index < len(cells) else ""
    return ""


def parse_row(plan: Plan, cells: list[str]) -> tuple[OrderRow | None, list[Problem]]:
    """A row as the load wants it, or what is wrong with it. (None, []) for a blank row."""
    if not any(cell.strip() for cell in cells):
        return None, []
    row, problems = OrderRow(order_id=""), []
    for index, column, target in plan.columns:
        raw = cells[index].strip() if index < len(cells) else ""
        if not raw:
            if target == "order_id":
                problems.append(Problem(column, "", _("needs an order id")))
            continue
        value, message = _value(target, raw)
        if message is not None:
            problems.append(Problem(column, raw[:VALUE_SHOWN], message))
        else:
            row.values[target] = value
    row.order_id = row.values.get("order_id", "")
    return (None if problems else row), problems


def shown(value: Any) -> str:
    """A parsed value as the preview shows it."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, list):
        return ", ".join(value)
    return "" if value is None else str(value)


# --- Rows into orders ---------------------------------------------------------------------------


@dataclass
class ParsedOrder:
    """The rows of one order: loadable data, or the problems of its rows (row number first)."""

    order_id: str
    rows: list[int]
    data: OrderData | None = None
    contact: dict[str, str] = field(default_factory=dict)  # email, phone, first/last name
    problems: list[tuple[int, Problem]] = field(default_factory=list)


def read_orders(
    plan: Plan, numbered: list[tuple[int, list[str]]], updated_at: datetime
) -> tuple[list[ParsedOrder], int]:
    """(the orders of these rows in file order, blank rows). `numbered`: (row number, cells).

    An order with a bad row is not loaded at all (a partial order would be a wrong one): its
    other rows are failed too, pointing at the bad one.
    """
    columns = {target: column for _index, column, target in plan.columns}
    parsed: list[tuple[int, str, OrderRow | None, list[Problem]]] = []
    blank = 0
    for row_no, cells in numbered:
        row, problems = parse_row(plan, cells)
        if row is None and not problems:
            blank += 1
        else:
            parsed.append((row_no, order_key(plan, cells), row, problems))
    orders = []
    for order_id, group in groupby(parsed, key=lambda item: item[1]):
        items = list(group)
        if not order_id:  # rows without an order id fail one by one
            orders += [
                ParsedOrder("", [no], problems=[(no, p) for p in found])
                for no, _key_, _row, found in items
            ]
            continue
        orders.append(_order(order_id, items, columns, updated_at))
    return orders, blank


def _order(
    order_id: str,
    items: list[tuple[int, str, OrderRow | None, list[Problem]]],
    columns: dict[str, str],
    updated_at: datetime,
) -> ParsedOrder:
    order = ParsedOrder(order_id, [no for no, *_rest in items])
    bad = [(no, p) for no, _key_, _row, found in items for p in found]
    if bad:
        first_bad = bad[0][0]
        message = _("order %(id)s has an error in row %(row)s") % {
            "id": order_id,
            "row": first_bad,
        }
        order.problems = bad + [
            (no, Problem("", "", message)) for no, _key_, _row, found in items if not found
        ]
        order.problems.sort(key=lambda item: item[0])
        return order
    rows = [row for _no, _key_, row, _found in items if row is not None]
    values: dict[str, Any] = {}
    for row in rows:  # the first row that has a value gives it
        for target, value in row.values.items():
            values.setdefault(target, value)
    for target in REQUIRED:
        if target not in values:
            message = _("the order has no %(target)s") % {"target": REQUIRED_NAMES[target]}
            column = columns.get(target, "")
            order.problems = [(no, Problem(column, "", message)) for no in order.rows]
            return order
    currency = values.get("currency", DEFAULT_CURRENCY)
    lines = []
    for number, row in enumerate(rows, start=1):
        if not any(target in row.values for target in LINE_TARGETS):
            continue
        quantity = row.values.get("quantity", 1)
        unit_price = row.values.get("unit_price", Decimal("0.00"))
        sku = row.values.get("sku", "")
        lines.append(
            LineData(
                external_id=f"{order_id}:{number}"[:120],
                product_id=sku,
                sku=sku,
                name=row.values.get("product_name") or sku or _("Item"),
                quantity=quantity,
                unit_price=unit_price,
                total=(unit_price * quantity).quantize(CENT),
            )
        )
    total = values["total"]
    order.data = OrderData(
        shop_order_id=order_id,
        order_number=values.get("order_number", order_id)[:60],
        status=values.get("status", DEFAULT_STATUS),
        currency=currency,
        subtotal=values.get(
            "subtotal", sum((line.total for line in lines), Decimal("0.00")) if lines else total
        ),
        discount_total=values.get("discount_total", Decimal("0.00")),
        shipping_total=values.get("shipping_total", Decimal("0.00")),
        tax_total=values.get("tax_total", Decimal("0.00")),
        total=total,
        coupon_codes=values.get("coupon_code", []),
        placed_at=values["placed_at"],
        updated_at=updated_at,
        lines=lines,
    )
    order.contact = {
        target: values[target]
        for target in ("email", "phone", "first_name", "last_name")
        if target in values
    }
    return order
