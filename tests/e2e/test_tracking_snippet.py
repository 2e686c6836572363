"""The browser snippet on the demo storefront, in a real browser: page views, clicks and a
sign-up reach Growth and become one contact's timeline."""

import pytest
from playwright.sync_api import Page, expect

from leads.models import Consent, Contact, Event, InboundDelivery
from tests.leads.helpers import process_all
from tests.polling import poll


@pytest.fixture(autouse=True)
def demo_shop_on(settings):  # type: ignore[no-untyped-def]
    settings.DEMO_SHOP = True


def test_snippet_tracks_views_clicks_and_sign_up(page: Page):
    page.goto("/demo-shop/?utm_source=newsletter&utm_medium=email&utm_campaign=weekly-drop")
    page.get_by_role("link", name="Merino Crew Sweater").click()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    page.goto("/demo-shop/")
    page.get_by_label("Get 10% off your first order").fill("Shopper@Example.com")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("Thanks! Check your inbox.")).to_be_visible()

    assert poll(lambda: InboundDelivery.objects.filter(topic="identify").exists())
    process_all()
    contact = Contact.objects.get(merged_into__isnull=True)
    assert contact.email == "shopper@example.com"
    names = set(Event.objects.filter(contact=contact).values_list("name", flat=True))
    assert {
        "Page Viewed",
        "Product Viewed",
        "Product Added",
        "Identified",
        "Newsletter Subscribed",
    } <= names
    assert contact.source_channel == "newsletter / email"
    assert Consent.objects.get(contact=contact).status == "granted"
    cookie = next(c for c in page.context.cookies() if c["name"] == "growth_aid")
    assert contact.identities.filter(kind="anonymous_id", value=cookie["value"]).exists()


def test_demo_shop_is_off_unless_enabled(page: Page, settings):
    settings.DEMO_SHOP = False
    response = page.goto("/demo-shop/")
    assert response is not None and response.status == 404
