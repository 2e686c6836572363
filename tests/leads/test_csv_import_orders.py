"""CSV import of orders: guessing a Shopify export's mapping, multi-line orders with their
contacts and totals, re-import without duplicates, row errors, chunks ending on an order,
the upload choosing the kind, and who may import."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from growth.roles import Role
from leads.csv_import import order_rows, parsing, services
from leads.csv_import.services import contact_import_create, contact_import_process
from leads.models import Contact, ContactImport, ImportRowError, Order, OrderLine, Source
from tests.leads.factories import ContactFactory, IdentityFactory

pytestmark = pytest.mark.django_db

Status = ContactImport.Status
ORDERS = ContactImport.Kind.ORDERS

SHOPIFY_HEADER = [
    "Name",
    "Email",
    "Financial Status",
    "Created at",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem sku",
    "Billing Name",
]


def shopify_rows() -> list[list[str]]:
    """Three orders as Shopify exports them: order fields on each order's first row only."""
    return [
        SHOPIFY_HEADER,
        # #1001: two lines, a discount code, an offset after a space.
        [
            "#1001",
            "Ann@Example.com",
            "paid",
            "2024-01-15 10:23:45 -0500",
            "USD",
            "50.00",
            "5.00",
            "4.00",
            "54.00",
            "WELCOME",
            "5.00",
            "2",
            "Mug",
            "10.00",
            "MUG-1",
            "Ann Lee",
        ],
        [
            "#1001",
            "ann@example.com",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "1",
            "Poster",
            "30.00",
            "POS-1",
            "",
        ],
        # #1002: one line, no offset (UTC), refunded.
        [
            "#1002",
            "bob@example.com",
            "refunded",
            "2024-02-01 08:00",
            "EUR",
            "20.00",
            "0.00",
            "0.00",
            "20.00",
            "",
            "0.00",
            "1",
            "Tee",
            "20.00",
            "TEE-1",
            "Bob",
        ],
        # #1003: no e-mail: imported without a contact; ISO 8601 with Z.
        [
            "#1003",
            "",
            "pending",
            "2024-03-01T12:00:00Z",
            "USD",
            "",
            "",
            "",
            "7.50",
            "",
            "",
            "3",
            "Sticker",
            "2.50",
            "ST-1",
            "",
        ],
    ]


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def started(data: bytes, mapping: dict[str, str] | None = None) -> ContactImport:
    orders_import = contact_import_create(
        filename="orders.csv", data=data, uploaded_by=None, kind=ORDERS
    )
    ContactImport.objects.filter(pk=orders_import.pk).update(
        mapping=mapping or orders_import.mapping, status=Status.MAPPED
    )
    return orders_import


def run(orders_import: ContactImport, **kwargs: Any) -> ContactImport:
    contact_import_process(import_id=orders_import.pk, **kwargs)
    return ContactImport.objects.get(pk=orders_import.pk)


def counts(ci: ContactImport) -> tuple[int, int, int, int]:
    return ci.created_count, ci.updated_count, ci.failed_count, ci.skipped_count


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    from leads.csv_import import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.contact_import_run, "delay", lambda import_id: sent.append(import_id))
    return sent


# --- Mapping ----------------------------------------------------------------------------------


def test_guess_maps_shopifys_orders_export():
    guessed = parsing.guess_mapping(SHOPIFY_HEADER, ORDERS)
    assert guessed == {
        "Name": "order_id",  # no id column: the order number is the id
        "Email": "email",
        "Financial Status": "status",
        "Created at": "placed_at",
        "Currency": "currency",
        "Subtotal": "subtotal",
        "Shipping": "shipping_total",
        "Taxes": "tax_total",
        "Total": "total",
        "Discount Code": "coupon_code",
        "Discount Amount": "discount_total",
        "Lineitem quantity": "quantity",
        "Lineitem name": "product_name",
        "Lineitem price": "unit_price",
        "Lineitem sku": "sku",
        "Billing Name": "ignore",
    }
    assert parsing.mapping_errors(SHOPIFY_HEADER, guessed, ORDERS) == []
    # With Shopify's "Id" column the id is that, and "Name" the order number.
    with_id = parsing.guess_mapping([*SHOPIFY_HEADER, "Id"], ORDERS)
    assert with_id["Id"] == "order_id"
    assert with_id["Name"] == "order_number"


def test_a_mapping_without_the_required_columns_is_refused():
    errors = parsing.mapping_errors(
        ["Name", "Email"], {"Name": "order_id", "Email": "email"}, ORDERS
    )
    assert len(errors) == 2
    assert any("Placed at" in e for e in errors) and any("Total" in e for e in errors)
    # Contact targets such as properties are not order targets.
    assert parsing.mapping_errors(["x"], {"x": "property:x"}, ORDERS)[0].startswith("Column")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15 10:23", datetime(2024, 1, 15, 10, 23, tzinfo=UTC)),
        ("2024-01-15 10:23:45", datetime(2024, 1, 15, 10, 23, 45, tzinfo=UTC)),
        ("2024-01-15T10:23:45+02:00", datetime(2024, 1, 15, 8, 23, 45, tzinfo=UTC)),
        ("2024-01-15 10:23:45 -0500", datetime(2024, 1, 15, 15, 23, 45, tzinfo=UTC)),
        ("15/01/2024", None),
        ("yesterday", None),
    ],
)
def test_dates_are_iso_or_spreadsheet_style_and_utc_without_offset(value, expected):
    assert order_rows.parse_datetime(value) == expected


# --- The load ---------------------------------------------------------------------------------


def test_a_shopify_export_becomes_orders_lines_and_contacts():
    ann = ContactFactory(email="ann@example.com")
    IdentityFactory(contact=ann, kind="email", value="ann@example.com")
    done = run(started(csv_bytes(shopify_rows())))
    assert done.status == Status.DONE
    assert counts(done) == (3, 0, 0, 0)
    assert done.rows_done == done.rows_total == 4
    source = Source.objects.get(slug=services.IMPORT_SOURCE_SLUG)
    assert source.kind == Source.Kind.IMPORT

    first = Order.objects.get(shop_order_id="#1001")
    assert first.source == source and first.contact == ann  # matched, not duplicated
    assert first.order_number == "#1001"
    assert first.status == Order.Status.PAID
    assert first.currency == "USD"
    assert first.placed_at == datetime(2024, 1, 15, 15, 23, 45, tzinfo=UTC)
    assert (first.subtotal, first.shipping_total, first.tax_total) == (
        Decimal("50.00"),
        Decimal("5.00"),
        Decimal("4.00"),
    )
    assert (first.discount_total, first.total) == (Decimal("5.00"), Decimal("54.00"))
    assert first.coupon_codes == ["WELCOME"]
    lines = sorted(first.lines.values_list("sku", "name", "quantity", "unit_price", "total"))
    assert lines == [
        ("MUG-1", "Mug", 2, Decimal("10.00"), Decimal("20.00")),
        ("POS-1", "Poster", 1, Decimal("30.00"), Decimal("30.00")),
    ]

    second = Order.objects.get(shop_order_id="#1002")
    assert second.contact is not None and second.contact.email == "bob@example.com"
    assert second.contact.identities.filter(kind="email", value="bob@example.com").exists()
    assert (second.status, second.currency) == (Order.Status.REFUNDED, "EUR")
    assert second.placed_at == datetime(2024, 2, 1, 8, 0, tzinfo=UTC)

    third = Order.objects.get(shop_order_id="#1003")
    assert third.contact is None
    assert third.status == Order.Status.PENDING
    assert third.subtotal == Decimal("7.50")  # no subtotal column value: the lines' sum
    assert third.lines.get().total == Decimal("7.50")

    assert Contact.objects.count() == 2
    assert OrderLine.objects.count() == 4


def test_importing_the_same_file_again_updates_without_duplicates():
    data = csv_bytes(shopify_rows())
    run(started(data))
    again = run(started(data))
    assert again.status == Status.DONE
    assert counts(again) == (0, 3, 0, 0)  # a later upload is a newer state of the orders
    assert Order.objects.count() == 3
    assert OrderLine.objects.count() == 4
    assert Contact.objects.count() == 2


def test_bad_rows_are_listed_and_the_rest_is_imported():
    rows = [
        ["Order ID", "Email", "Date", "Total", "Status", "SKU", "Qty", "Price"],
        ["A1", "a@example.com", "2024-01-01 09:00", "10.00", "paid", "X", "1", "10.00"],
        ["A2", "b@example.com", "2024-01-02 09:00", "", "paid", "X", "1", "5.00"],  # no total
        ["A3", "c@example.com", "31/01/2024", "12.00", "paid", "X", "1", "12.00"],  # bad date
        ["A4", "d@example.com", "2024-01-04 09:00", "8.00", "paid", "X", "1", "4.00"],
        ["A4", "", "not a date", "", "", "Y", "1", "4.00"],  # bad line row: all of A4 fails
        ["", "e@example.com", "2024-01-05 09:00", "1.00", "paid", "", "", ""],  # no id
        ["A5", "not-an-email", "2024-01-05 09:00", "1.00", "lost", "", "", ""],
        [],
        ["A6", "f@example.com", "2024-01-06 09:00", "3.00", "", "", "", ""],
    ]
    done = run(started(csv_bytes(rows)))
    assert done.status == Status.DONE
    assert counts(done) == (2, 0, 6, 1)
    assert set(Order.objects.values_list("shop_order_id", flat=True)) == {"A1", "A6"}
    assert Order.objects.get(shop_order_id="A6").status == Order.Status.PAID  # the default
    errors = list(
        ImportRowError.objects.filter(contact_import=done)
        .order_by("row", "id")
        .values_list("row", "column", "message")
    )
    assert errors[0] == (3, "Total", "the order has no total")
    assert errors[1][:2] == (4, "Date") and "date" in errors[1][2]
    assert errors[2] == (5, "", "order A4 has an error in row 6")
    assert errors[3][:2] == (6, "Date")
    assert errors[4] == (7, "Order ID", "needs an order id")
    assert {(row, column) for row, column, _m in errors[5:]} == {(8, "Email"), (8, "Status")}


def test_chunks_end_on_an_order_boundary_and_resume_from_the_cursor(monkeypatch):
    monkeypatch.setattr(services, "ORDER_CHUNK_ROWS", 2)
    header = ["Order ID", "Email", "Date", "Total", "SKU"]
    rows = [header]
    for n, size in enumerate([3, 1, 2, 3], start=1):  # orders of 3, 1, 2 and 3 lines
        rows += [
            [f"O{n}", f"p{n}@example.com", "2024-05-01 10:00", "9.00", f"S{line}"]
            for line in range(size)
        ]
    orders_import = started(csv_bytes(rows))
    first = run(orders_import, max_chunks=1)
    assert first.status == Status.RUNNING
    assert first.rows_done == 3  # the chunk of 2 grew to the end of O1
    assert list(Order.objects.values_list("shop_order_id", flat=True)) == ["O1"]
    done = run(orders_import)
    assert done.status == Status.DONE and done.rows_done == 9
    assert counts(done) == (4, 0, 0, 0)
    assert {o.shop_order_id: o.lines.count() for o in Order.objects.all()} == {
        "O1": 3,
        "O2": 1,
        "O3": 2,
        "O4": 3,
    }


# --- Pages ------------------------------------------------------------------------------------


def upload(client, data: bytes, kind: str | None = None):  # type: ignore[no-untyped-def]
    file = io.BytesIO(data)
    file.name = "orders_export.csv"
    form: dict[str, Any] = {"file": file}
    if kind:
        form["kind"] = kind
    return client.post(reverse("import_new"), form)


def test_the_upload_chooses_orders_and_the_mapping_page_offers_order_fields(
    client_as, enqueued, django_capture_on_commit_callbacks
):
    client = client_as(Role.MARKETER)
    assert 'value="orders"' in client.get(reverse("import_new")).content.decode()
    response = upload(client, csv_bytes(shopify_rows()), kind="orders")
    orders_import = ContactImport.objects.get()
    assert response.status_code == 302
    assert orders_import.kind == ORDERS
    assert orders_import.mapping["Created at"] == "placed_at"
    page = client.get(reverse("import_detail", args=[orders_import.pk]))
    html = page.content.decode()
    assert "Placed at (required)" in html and "Line: SKU" in html
    assert "Property" not in html
    assert not page.context["preview"].problems
    form = {f"col_{i}": orders_import.mapping[c] for i, c in enumerate(orders_import.header)}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("import_detail", args=[orders_import.pk]), {**form, "action": "start"}
        )
    assert response.status_code == 302
    assert enqueued == [orders_import.pk]
    done = run(orders_import)
    assert counts(done) == (3, 0, 0, 0)
    page = client.get(reverse("import_detail", args=[orders_import.pk]))
    assert "new orders" in page.content.decode()


def test_an_upload_without_a_kind_is_a_contacts_import(client_as):
    client = client_as(Role.ADMIN)
    upload(client, csv_bytes([["email"], ["a@example.com"]]))
    assert ContactImport.objects.get().kind == ContactImport.Kind.CONTACTS


@pytest.mark.parametrize("role", [Role.REP, Role.MANAGER, Role.SALES_MANAGER])
def test_other_roles_may_not_import_orders(client_as, role):
    orders_import = started(csv_bytes(shopify_rows()))
    client = client_as(role)
    for url in (
        reverse("imports"),
        reverse("import_new"),
        reverse("import_detail", args=[orders_import.pk]),
        reverse("import_errors_csv", args=[orders_import.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert upload(client, csv_bytes(shopify_rows()), kind="orders").status_code == 403
    assert ContactImport.objects.count() == 1


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ADMIN])
def test_marketers_and_admins_may_import_orders(client_as, role):
    orders_import = started(csv_bytes(shopify_rows()))
    client = client_as(role)
    for url in (
        reverse("imports"),
        reverse("import_new"),
        reverse("import_detail", args=[orders_import.pk]),
        reverse("import_errors_csv", args=[orders_import.pk]),
    ):
        assert client.get(url).status_code == 200, url
