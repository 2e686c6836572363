"""Message templates: checked at save (syntax, unknown names, files, SMS length), rendered
per contact and language from plain data, edited in the browser with conflicts detected,
previewed in a sandbox, and sent as a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from automations.models import Delivery, MessageTemplate, TemplateContent
from automations.rendering import (
    TemplateProblem,
    content_for,
    message_context,
    message_render,
    template_compile,
)
from automations.services.templates import template_create, template_update
from growth.roles import Role
from leads.models import Order, OrderLine, Product
from tests.leads.factories import ContactFactory, EventFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("Hi {{ contct.first_name }}", "Unknown name “contct”"),
        ("{% if contact.first_name %}Hi", "Unclosed tag"),
        ('{% include "x.html" %}', "include or extend"),
        ("{% load static %}", "load tag libraries"),
        ("{{ contact.first_name|nosuchfilter }}", "Invalid filter"),
    ],
)
def test_a_broken_template_is_refused_with_what_is_wrong(source, says):
    with pytest.raises(TemplateProblem) as problem:
        template_compile(source, html=True)
    assert says in problem.value.message


def test_loop_and_with_variables_are_known_inside_their_block():
    template_compile(
        "{% for p in recommendations %}{{ p.name }} {{ forloop.counter }}{% endfor %}"
        "{% with o=last_order %}{{ o.number }}{% endwith %}",
        html=True,
    )
    with pytest.raises(TemplateProblem):
        template_compile("{% for p in recommendations %}{% endfor %}{{ p.name }}", html=True)


UNSUBSCRIBE = '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'


def email(**parts: str) -> dict[str, str]:
    return {"subject": "Hi {{ contact.first_name }}", "html": f"<p>Hello</p>{UNSUBSCRIBE}", **parts}


def test_saving_names_the_part_and_line_that_is_wrong():
    with pytest.raises(ValidationError) as refused:
        template_create(
            actor=None,
            name="Welcome",
            channel="email",
            purpose="marketing",
            default_locale="en",
            parts=email(
                html="<p>ok</p>\n<p>{{ contact.first_name|bad }}</p>" + UNSUBSCRIBE, subject=""
            ),
        )
    errors = refused.value.message_dict
    assert "subject" in errors and "html" in errors
    assert errors["html"][0].startswith("Line 2:")
    assert not MessageTemplate.objects.exists()


def test_an_sms_longer_than_ten_segments_is_refused():
    with pytest.raises(ValidationError) as refused:
        template_create(
            actor=None,
            name="Long",
            channel="sms",
            purpose="marketing",
            default_locale="en",
            parts={"text": "x" * 1600},
        )
    assert "11 SMS segments" in refused.value.message_dict["text"][0]


def test_the_contact_s_language_is_used_with_fallbacks():
    template = template_create(
        actor=None,
        name="Cart",
        channel="email",
        purpose="marketing",
        default_locale="en",
        parts=email(),
    )
    TemplateContent.objects.create(template=template, locale="de", subject="Hallo", html="x")
    assert content_for(template, "de-AT").locale == "de"
    assert content_for(template, "de").locale == "de"
    assert content_for(template, "fr-FR").locale == "en"


def test_a_second_editor_gets_a_conflict_not_a_silent_overwrite():
    template = template_create(
        actor=None,
        name="Cart",
        channel="email",
        purpose="marketing",
        default_locale="en",
        parts=email(),
    )
    template_update(template=template, version=1, actor=None, locale="en", parts=email(subject="A"))
    from automations.services.templates import EditConflict

    with pytest.raises(EditConflict):
        template_update(
            template=template, version=1, actor=None, locale="en", parts=email(subject="B")
        )
    assert template.contents.get().subject == "A"


@pytest.fixture
def shopper():  # type: ignore[no-untyped-def]
    """Bought shoes; others who bought shoes also bought socks; viewed a jacket."""
    source = SourceFactory()
    shoes, socks, _jacket, mug = (
        Product.objects.create(source=source, external_id=key, name=name, price=Decimal(price))
        for key, name, price in [
            ("p1", "Trail Runner", "89.00"),
            ("p2", "Merino Socks", "14.00"),
            ("p3", "Rain Jacket", "120.00"),
            ("p4", "Mug", "9.00"),
        ]
    )
    now = datetime.now(UTC)

    def bought(contact, *products, days=1):  # type: ignore[no-untyped-def]
        order = Order.objects.create(
            source=source,
            shop_order_id=f"o{Order.objects.count() + 1}",
            order_number=f"#{1000 + Order.objects.count()}",
            contact=contact,
            currency="EUR",
            total=Decimal("10"),
            placed_at=now - timedelta(days=days),
            shop_updated_at=now,
        )
        for product in products:
            OrderLine.objects.create(order=order, product=product, name=product.name, quantity=1)
        return order

    anna = ContactFactory(first_name="Anna", locale="de-DE")
    bought(anna, shoes, days=3)
    bought(anna, shoes, days=1)
    for _ in range(2):
        bought(ContactFactory(), shoes, socks)
    for _ in range(3):
        bought(ContactFactory(), mug)  # the best seller, but not among shoe buyers
    EventFactory(contact=anna, name="Product Viewed", properties={"product_id": "p3"})
    return anna


def test_the_context_holds_the_last_order_views_purchases_and_recommendations(
    shopper, django_assert_num_queries
):
    with django_assert_num_queries(4):
        context = message_context(shopper, discount_code="ANNA-10")
    assert context["contact"]["first_name"] == "Anna"
    assert context["last_order"]["number"] == "#1001"
    assert [line["name"] for line in context["last_order"]["lines"]] == ["Trail Runner"]
    assert [p["name"] for p in context["viewed_products"]] == ["Rain Jacket"]
    assert [p["name"] for p in context["bought_products"]] == ["Trail Runner"]
    assert context["recommendations"][0]["name"] == "Merino Socks"
    rendered = message_render(
        TemplateContent(
            subject="{{ contact.first_name }}, {{ recommendations.0.name }}?",
            html="<p>{{ contact.first_name }} & co — {{ discount_code }}</p>",
        ),
        context,
    )
    assert rendered.subject == "Anna, Merino Socks?"
    assert rendered.html == "<p>Anna & co — ANNA-10</p>"


# --- Pages ------------------------------------------------------------------------------------


def test_a_marketer_creates_edits_previews_and_test_sends(client_as):
    client = client_as(Role.MARKETER)
    assert b'data-testid="empty"' in client.get("/message-templates/").content
    answer = client.post(
        "/message-templates/new/?channel=email",
        {
            "name": "Cart reminder",
            "channel": "email",
            "purpose": "marketing",
            "default_locale": "en",
            "locale": "en",
            "subject": "{{ contact.first_name }}, your cart",
            "html": "<p>Hi {{ contact.first_name }}</p><script>alert(1)</script>" + UNSUBSCRIBE,
        },
    )
    template = MessageTemplate.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/message-templates/{template.pk}/"

    preview = client.get(f"/message-templates/{template.pk}/preview/")
    assert preview.status_code == 200
    assert preview["Content-Security-Policy"].startswith("sandbox")
    assert b"Hi Alex" in preview.content  # the sample contact
    anna = ContactFactory(first_name="Anna")
    assert (
        b"Hi Anna"
        in client.get(f"/message-templates/{template.pk}/preview/?contact={anna.pk}").content
    )

    stale = client.post(
        f"/message-templates/{template.pk}/?locale=en",
        {
            "name": "Cart reminder",
            "purpose": "marketing",
            "default_locale": "en",
            "locale": "en",
            "subject": "New",
            "html": "<p>x</p>",
            "version": 0,
        },
    )
    assert stale.status_code == 409

    client.post(f"/message-templates/{template.pk}/test/", {"to": "me@shop.example"})
    delivery = Delivery.objects.get(origin="test")
    assert (delivery.to_address, delivery.purpose, delivery.contact) == (
        "me@shop.example",
        "transactional",
        None,
    )
    assert delivery.subject == "[Test] Alex, your cart"


def test_a_template_error_is_shown_next_to_its_field(client_as):
    answer = client_as(Role.MARKETER).post(
        "/message-templates/new/?channel=sms",
        {
            "name": "Bad",
            "channel": "sms",
            "purpose": "marketing",
            "locale": "en",
            "text": "Hi {{ contct.first_name }}",
        },
    )
    assert answer.status_code == 400
    assert 'data-testid="error-text"' in answer.content.decode()
    assert "Unknown name “contct”" in answer.content.decode()
    assert not MessageTemplate.objects.exists()


def test_the_sms_counter_counts_segments_of_the_rendered_text(client_as):
    answer = client_as(Role.MARKETER).post("/message-templates/sms-count/", {"text": "中" * 71})
    assert "UCS-2: 71 characters, 2 segments" in answer.content.decode()


def test_templates_are_for_marketers(client_as):
    assert client_as(Role.REP).get("/message-templates/").status_code == 403


def test_values_are_escaped_in_html_and_left_alone_in_text_and_sms():
    context = {"contact": {"first_name": "<b>Bo</b> & Co"}}
    rendered = message_render(
        TemplateContent(html="<p>{{ contact.first_name }}</p>", text="{{ contact.first_name }}"),
        context,
    )
    assert rendered.html == "<p>&lt;b&gt;Bo&lt;/b&gt; &amp; Co</p>"
    assert rendered.text == "<b>Bo</b> & Co"


def test_a_marketing_email_without_an_unsubscribe_link_is_refused():
    with pytest.raises(ValidationError) as refused:
        template_create(
            actor=None,
            name="News",
            channel="email",
            purpose="marketing",
            default_locale="en",
            parts={"subject": "News", "html": "<p>Hi</p>", "text": "Hi {{ unsubscribe_url }}"},
        )
    assert "unsubscribe" in refused.value.message_dict["html"][0]
    assert "text" not in refused.value.message_dict
    template_create(  # an order confirmation needs none
        actor=None,
        name="Order confirmation",
        channel="email",
        purpose="transactional",
        default_locale="en",
        parts={"subject": "Thanks", "html": "<p>Hi</p>"},
    )


@pytest.mark.parametrize(
    ("channel", "to", "says"),
    [("email", "not-an-address", "is not an e-mail address"), ("sms", "0151 1234", "country code")],
)
def test_a_test_send_to_a_wrong_address_is_refused(client_as, channel, to, says):
    parts = {"subject": "Hi", "html": "<p>x</p>"} if channel == "email" else {"text": "Hi"}
    template = template_create(
        actor=None,
        name="T",
        channel=channel,
        purpose="transactional",
        default_locale="en",
        parts=parts,
    )
    answer = client_as(Role.MARKETER).post(
        f"/message-templates/{template.pk}/test/", {"to": to}, follow=True
    )
    assert says in answer.content.decode()
    assert not Delivery.objects.exists()


def test_a_test_address_is_stored_as_sends_use_it(client_as):
    template = template_create(
        actor=None,
        name="T",
        channel="email",
        purpose="transactional",
        default_locale="en",
        parts={"subject": "Hi", "html": "<p>x</p>"},
    )
    client_as(Role.MARKETER).post(
        f"/message-templates/{template.pk}/test/", {"to": " Me@Shop.Example "}
    )
    assert Delivery.objects.get().to_address == "me@shop.example"
