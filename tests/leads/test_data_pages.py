"""Manual merge with a side-by-side preview, JSON export and erasure, by an admin."""

import json

import pytest
from django.urls import reverse

from growth.roles import Role
from leads.models import Contact, ContactMerge, PrivacyRequest
from tests.leads.factories import ContactFactory, EventFactory, IdentityFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_merge_preview_shows_both_sides_and_the_result(client_as):
    client = client_as(Role.ADMIN)
    a = ContactFactory(email="a@example.com", company="")
    b = ContactFactory(email="b@example.com", company="Acme")
    EventFactory.create_batch(2, contact=b)
    body = client.get(
        reverse("contact_merge", args=[a.pk]), {"other": "b@example.com"}
    ).content.decode()
    assert 'data-testid="merge-preview"' in body
    assert "a@example.com" in body and "b@example.com" in body and "Acme" in body


def test_merge_preview_says_when_nothing_matches(client_as):
    a = ContactFactory()
    body = (
        client_as(Role.ADMIN)
        .get(reverse("contact_merge", args=[a.pk]), {"other": "nobody@x.com"})
        .content.decode()
    )
    assert "No other live contact matches that." in body


def test_merge_keeps_the_chosen_survivor(client_as):
    client = client_as(Role.ADMIN)
    a, b = ContactFactory(), ContactFactory()
    IdentityFactory(contact=a)
    OrderFactory(contact=a)
    response = client.post(
        reverse("contact_merge_run", args=[a.pk]), {"other": b.pk, "survivor": b.pk}
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "contact_detail", args=[b.pk]
    )
    assert Contact.objects.get(pk=a.pk).merged_into_id == b.pk
    assert b.orders.count() == 1 and b.identities.count() == 1
    merge = ContactMerge.objects.get()
    assert merge.actor is not None and "by hand" in merge.reason


def test_export_downloads_json_and_is_recorded(client_as):
    client = client_as(Role.ADMIN)
    contact = ContactFactory(email="x@example.com")
    EventFactory(contact=contact, name="Product Viewed")
    response = client.post(reverse("contact_export_json", args=[contact.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="contact-{contact.pk}.json"'
    document = json.loads(response.content)
    assert document["contact"]["email"] == "x@example.com"
    assert document["events"][0]["name"] == "Product Viewed"
    assert PrivacyRequest.objects.get().kind == "export"


def test_erase_needs_typed_confirmation(client_as):
    client = client_as(Role.ADMIN)
    contact = ContactFactory(email="gone@example.com")
    client.post(reverse("contact_erase", args=[contact.pk]), {"confirm": "yes"})
    contact.refresh_from_db()
    assert contact.email == "gone@example.com"
    client.post(reverse("contact_erase", args=[contact.pk]), {"confirm": "ERASE"})
    contact.refresh_from_db()
    assert contact.email == "" and contact.erased_at is not None
    assert PrivacyRequest.objects.get().kind == "erase"


@pytest.mark.parametrize("role", [Role.MARKETER, Role.REP, Role.SALES_MANAGER, Role.MANAGER])
def test_only_admins_do_data_work(client_as, role):
    client = client_as(role)
    a, b = ContactFactory(), ContactFactory()
    assert client.get(reverse("contact_merge", args=[a.pk])).status_code == 403
    assert (
        client.post(reverse("contact_merge_run", args=[a.pk]), {"other": b.pk}).status_code == 403
    )
    assert client.post(reverse("contact_export_json", args=[a.pk])).status_code == 403
    assert (
        client.post(reverse("contact_erase", args=[a.pk]), {"confirm": "ERASE"}).status_code == 403
    )
    assert Contact.objects.filter(merged_into__isnull=True, erased_at__isnull=True).count() == 2
    assert PrivacyRequest.objects.count() == 0
