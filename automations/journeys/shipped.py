"""Journeys Growth ships: the flows of the seed articles, as drafts a marketer installs,
edits and publishes. Installing one also writes the message templates it sends (once: a
template of that name already there is used as it is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from automations.models import Journey, MessageTemplate, TemplateContent
from automations.models.delivery import Channel, Purpose
from growth.shipped import second_copy_name

UNSUBSCRIBE = (
    '<p style="font-size:12px;color:#777">{{ shop.name }} · '
    '<a href="{{ preferences_url }}">Preferences</a> · '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)
PRODUCTS = (
    '{% for p in recommendations %}<p><a href="{{ p.url }}">{{ p.name }}</a>'
    "{% if p.price %} · {{ p.price }} {{ p.currency }}{% endif %}</p>{% endfor %}"
)


@dataclass(frozen=True)
class Message:
    name: str
    channel: str
    purpose: str
    subject: str = ""
    html: str = ""
    text: str = ""


@dataclass(frozen=True)
class Shipped:
    key: str
    name: str
    description: Any
    nodes: list[dict[str, Any]]
    edges: list[tuple[str, str, str]]
    messages: list[Message] = field(default_factory=list)
    reentry: str = Journey.Reentry.PER_DAYS
    reentry_days: int | None = 30


def _n(node_id: str, kind: str, x: int, y: int, /, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "config": config, "x": x, "y": y}


CART_SMS = Message(
    gettext_noop("Cart reminder (SMS)"),
    Channel.SMS,
    Purpose.MARKETING,
    text="{{ shop.name }}: your cart is waiting, {{ contact.first_name|default:'there' }}. "
    "{{ shop.url }} Reply STOP to opt out.",
)
CART_EMAIL = Message(
    gettext_noop("Cart reminder (e-mail)"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="{{ contact.first_name|default:'Hi' }}, you left something behind",
    html="<p>Hi {{ contact.first_name|default:'there' }},</p>"
    "<p>Your cart at {{ shop.name }} is still waiting.</p>"
    '<p><a href="{{ shop.url }}">Back to your cart</a></p>' + UNSUBSCRIBE,
)
REVIEW = Message(
    gettext_noop("Review request"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="What did you think, {{ contact.first_name|default:'there' }}?",
    html="<p>Hi {{ contact.first_name|default:'there' }},</p><p>You had a look at "
    "{% for p in viewed_products %}{% if forloop.first %}{{ p.name }}{% endif %}{% endfor %}"
    ". Other customers' reviews may help you decide.</p>" + UNSUBSCRIBE,
)
SECOND_CHANCE = Message(
    # xgettext:no-python-format
    gettext_noop("Still thinking (10 % off)"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="10 % off, just for you",
    html="<p>Still thinking it over? Here is 10 % off your order"
    "{% if discount_code %} with the code <strong>{{ discount_code }}</strong>{% endif %}.</p>"
    + UNSUBSCRIBE,
)
BROWSE = Message(
    gettext_noop("Browse abandonment"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="Still looking, {{ contact.first_name|default:'there' }}?",
    html="<p>These caught your eye:</p>"
    '{% for p in viewed_products %}<p><a href="{{ p.url }}">{{ p.name }}</a></p>{% endfor %}'
    + UNSUBSCRIBE,
)
THANKS = Message(
    gettext_noop("Thank you for your order"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="Welcome to {{ shop.name }}, {{ contact.first_name|default:'friend' }}",
    html="<p>Thank you for your order {{ last_order.number }}! Here is how to get the most "
    "out of it.</p>" + UNSUBSCRIBE,
)
CROSS_SELL = Message(
    gettext_noop("You may also like"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="Picked for you, {{ contact.first_name|default:'there' }}",
    html="<p>Customers who bought what you bought also liked:</p>" + PRODUCTS + UNSUBSCRIBE,
)
WELCOME = [
    Message(
        name,
        Channel.EMAIL,
        Purpose.MARKETING,
        subject=subject,
        html=f"<p>{body}</p>" + UNSUBSCRIBE,
    )
    for name, subject, body in [
        (
            gettext_noop("Welcome 1"),
            "Welcome to {{ shop.name }}",
            "Thanks for subscribing! Here is what we are about.",
        ),
        (gettext_noop("Welcome 2"), "Our best sellers", "The products our customers love most."),
        (gettext_noop("Welcome 3"), "A welcome gift", "Your first order ships free this week."),
    ]
]
WIN_BACK = Message(
    gettext_noop("We miss you"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="We miss you, {{ contact.first_name|default:'friend' }}",
    html="<p>It has been a while. Here is what is new at {{ shop.name }}:</p>"
    + PRODUCTS
    + UNSUBSCRIBE,
)
HOW_TO = Message(
    gettext_noop("How to get the most out of it"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="Getting started with your order {{ last_order.number }}",
    html="<p>Your order has arrived. A few tips to enjoy "
    "{% for line in last_order.lines %}{% if forloop.first %}{{ line.name }}{% endif %}{% endfor %}"
    " from day one.</p>" + UNSUBSCRIBE,
)
NPS_MAIL = Message(
    gettext_noop("How likely are you to recommend us?"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="One click: would you recommend {{ shop.name }}?",
    html="<p>How likely are you to recommend us to a friend? (0 = not at all, 10 = very)</p><p>"
    '{% for score, url in survey_scores %}<a href="{{ url }}">{{ score }}</a> {% endfor %}</p>'
    + UNSUBSCRIBE,
)
VIP_MAIL = Message(
    gettext_noop("You are one of our best customers"),
    Channel.EMAIL,
    Purpose.MARKETING,
    subject="Thank you, {{ contact.first_name|default:'friend' }}",
    html="<p>You are one of our very best customers. Thank you! Someone from our team "
    "will be in touch personally.</p>" + UNSUBSCRIBE,
)
ORDER_CONFIRMATION = Message(
    gettext_noop("Order confirmation"),
    Channel.EMAIL,
    Purpose.TRANSACTIONAL,
    subject="Order {{ last_order.number }} confirmed",
    html="<p>Thank you, {{ contact.first_name|default:'there' }}! We received order "
    "{{ last_order.number }} ({{ last_order.total }} {{ last_order.currency }}):</p>"
    "<ul>{% for line in last_order.lines %}<li>{{ line.quantity }} &times; {{ line.name }}</li>"
    "{% endfor %}</ul>",
)
SHIPPING = Message(
    gettext_noop("Shipping notice"),
    Channel.EMAIL,
    Purpose.TRANSACTIONAL,
    subject="Order {{ last_order.number }} is on its way",
    html="<p>Good news: order {{ last_order.number }} has shipped.</p>",
)

SHIPPED: list[Shipped] = [
    Shipped(
        "abandoned_cart",
        gettext_noop("Abandoned cart"),
        _(
            "Checkout started, no order within an hour: an SMS to those who allow it, else an e-mail."
        ),
        [
            _n("t", "trigger", 40, 40, kind="event", event="Checkout Started"),
            _n("w", "wait", 40, 160, hours=1),
            _n("c", "condition", 40, 280, kind="consent", channel="sms"),
            _n("sms", "send_sms", 260, 400, template="Cart reminder (SMS)"),
            _n("mail", "send_email", -180, 400, template="Cart reminder (e-mail)"),
            _n("goal", "goal", 480, 40, event="Order Completed"),
        ],
        [("t", "w", "next"), ("w", "c", "next"), ("c", "sms", "yes"), ("c", "mail", "no")],
        [CART_SMS, CART_EMAIL],
        reentry_days=7,
    ),
    Shipped(
        "review_request",
        gettext_noop("Review request"),
        _(
            # xgettext:no-python-format
            "Viewed a product, no purchase in 24 hours: a review request; none after 3 more days: 10 % off."
        ),
        [
            _n("t", "trigger", 40, 40, kind="event", event="Product Viewed"),
            _n("tag", "update_property", 40, 150, property="viewed_product", tag=True),
            _n("w1", "wait_event", 40, 260, event="Order Completed", hours=24),
            _n("m1", "send_email", 260, 380, template="Review request"),
            _n("w2", "wait_event", 260, 500, event="Order Completed", hours=72),
            _n("m2", "send_email", 480, 620, template="Still thinking (10 % off)"),
            _n("goal", "goal", 480, 40, event="Order Completed"),
        ],
        [
            ("t", "tag", "next"),
            ("tag", "w1", "next"),
            ("w1", "m1", "timeout"),
            ("m1", "w2", "next"),
            ("w2", "m2", "timeout"),
        ],
        [REVIEW, SECOND_CHANCE],
        reentry_days=14,
    ),
    Shipped(
        "browse_abandonment",
        gettext_noop("Browse abandonment"),
        _("Viewed products without adding any to the cart for 4 hours: the products again."),
        [
            _n("t", "trigger", 40, 40, kind="event", event="Product Viewed"),
            _n("w", "wait_event", 40, 160, event="Product Added", hours=4),
            _n("m", "send_email", 260, 280, template="Browse abandonment"),
            _n("goal", "goal", 480, 40, event="Order Completed"),
        ],
        [("t", "w", "next"), ("w", "m", "timeout")],
        [BROWSE],
        reentry_days=14,
    ),
    Shipped(
        "post_purchase",
        gettext_noop("Post-purchase welcome and cross-sell"),
        _("After an order: a thank-you with tips, then products bought by similar customers."),
        [
            _n("t", "trigger", 40, 40, kind="event", event="Order Completed"),
            _n("m1", "send_email", 40, 160, template="Thank you for your order"),
            _n("w", "wait", 40, 280, days=7),
            _n("m2", "send_email", 40, 400, template="You may also like"),
        ],
        [("t", "m1", "next"), ("m1", "w", "next"), ("w", "m2", "next")],
        [THANKS, CROSS_SELL],
        reentry=Journey.Reentry.ALWAYS,
        reentry_days=None,
    ),
    Shipped(
        "welcome_series",
        gettext_noop("Welcome series"),
        _("New newsletter subscribers: three e-mails over five days."),
        [
            _n("t", "trigger", 40, 40, kind="event", event="Newsletter Subscribed"),
            _n("m1", "send_email", 40, 150, template="Welcome 1"),
            _n("w1", "wait", 40, 260, days=2),
            _n("m2", "send_email", 40, 370, template="Welcome 2"),
            _n("w2", "wait", 40, 480, days=3),
            _n("m3", "send_email", 40, 590, template="Welcome 3"),
        ],
        [
            ("t", "m1", "next"),
            ("m1", "w1", "next"),
            ("w1", "m2", "next"),
            ("m2", "w2", "next"),
            ("w2", "m3", "next"),
        ],
        WELCOME,
        reentry=Journey.Reentry.ONCE,
        reentry_days=None,
    ),
    Shipped(
        "order_confirmation",
        gettext_noop("Order confirmation"),
        _("Transactional: confirms every order at once, whatever the hour or the caps."),
        [
            _n("t", "trigger", 40, 40, kind="event", event="Order Completed"),
            _n("m", "send_email", 40, 160, template="Order confirmation"),
        ],
        [("t", "m", "next")],
        [ORDER_CONFIRMATION],
        reentry=Journey.Reentry.ALWAYS,
        reentry_days=None,
    ),
    Shipped(
        "shipping_notice",
        gettext_noop("Shipping notice"),
        _("Transactional: tells the customer the order has shipped."),
        [
            _n("t", "trigger", 40, 40, kind="event", event="Order Shipped"),
            _n("m", "send_email", 40, 160, template="Shipping notice"),
        ],
        [("t", "m", "next")],
        [SHIPPING],
        reentry=Journey.Reentry.ALWAYS,
        reentry_days=None,
    ),
    Shipped(
        "after_delivery",
        gettext_noop("After delivery: how-to and NPS"),
        _(
            "Order delivered: how to get the most out of it, then an NPS survey; detractors become a task for the team."
        ),
        [
            _n("t", "trigger", 40, 40, kind="event", event="Order Delivered"),
            _n("w1", "wait", 40, 150, days=2),
            _n("m", "send_email", 40, 260, template="How to get the most out of it"),
            _n("w2", "wait", 40, 370, days=7),
            _n(
                "s",
                "send_survey",
                40,
                480,
                survey="@survey",
                template="How likely are you to recommend us?",
            ),
        ],
        [("t", "w1", "next"), ("w1", "m", "next"), ("m", "w2", "next"), ("w2", "s", "next")],
        [HOW_TO, NPS_MAIL],
        reentry=Journey.Reentry.PER_DAYS,
        reentry_days=90,
    ),
    Shipped(
        "win_back",
        gettext_noop("Win-back"),
        # xgettext:no-python-format
        _("No order for 60 days: a personal 10 % code, then a reminder a week later."),
        [
            _n(
                "t",
                "trigger",
                40,
                40,
                kind="date_property",
                property="days_since_last_order",
                days=60,
            ),
            _n("c", "issue_code", 40, 150, campaign="@campaign"),
            _n("m1", "send_email", 40, 260, template="We miss you"),
            _n("w", "wait_event", 40, 370, event="Order Completed", hours=168),
            _n("m2", "send_email", 260, 480, template="Still thinking (10 % off)"),
            _n("goal", "goal", 480, 40, event="Order Completed"),
        ],
        [("t", "c", "next"), ("c", "m1", "next"), ("m1", "w", "next"), ("w", "m2", "timeout")],
        [WIN_BACK, SECOND_CHANCE],
        reentry_days=180,
    ),
    Shipped(
        "vip",
        gettext_noop("VIP thank-you"),
        _("A customer becomes a champion (RFM): a personal call from the team and a thank-you."),
        [
            _n("t", "trigger", 40, 40, kind="segment_entered", segment="@champions"),
            _n(
                "task",
                "create_task",
                40,
                150,
                title="Thank VIP {{ contact.name }} personally",
                body="",
                role="sales_manager",
            ),
            _n("m", "send_email", 40, 260, template="You are one of our best customers"),
        ],
        [("t", "task", "next"), ("task", "m", "next")],
        [VIP_MAIL],
        reentry=Journey.Reentry.ONCE,
        reentry_days=None,
    ),
]


def shipped_by_key() -> dict[str, Shipped]:
    return {s.key: s for s in SHIPPED}


def _resolve(name: str) -> int | None:
    """What a shipped journey names symbolically: its survey, code campaign, RFM segment."""
    from automations.models import DiscountCampaign, Survey
    from leads.models import Segment

    if name == "@survey":
        survey, _created = Survey.objects.get_or_create(
            name=gettext_noop("Customer NPS"),
            defaults={
                "kind": Survey.Kind.NPS,
                "question": "How likely are you to recommend us to a friend?",
                "thank_you": "Thank you! Your answer helps us get better.",
            },
        )
        return survey.pk
    if name == "@campaign":
        campaign, _created = DiscountCampaign.objects.get_or_create(
            # xgettext:no-python-format
            name=gettext_noop("Win-back 10 %"),
            defaults={"pattern": "BACK-{code}", "value": "10 %", "valid_days": 30},
        )
        return campaign.pk
    segment = Segment.objects.filter(rfm_key=name.lstrip("@")).first()
    return segment.pk if segment else None


def _template(message: Message) -> MessageTemplate:
    template, created = MessageTemplate.objects.get_or_create(
        name=message.name,
        defaults={"channel": message.channel, "purpose": message.purpose, "default_locale": "en"},
    )
    if created:
        TemplateContent.objects.create(
            template=template,
            locale="en",
            subject=message.subject,
            html=message.html,
            text=message.text,
        )
    return template


@transaction.atomic
def shipped_install(*, key: str, actor: Any = None) -> Journey:
    """Install a shipped journey as a draft (its templates too). Installing it again
    returns the journey already there, edits and all."""
    spec = shipped_by_key()[key]
    existing = Journey.objects.filter(shipped_key=key).first()
    if existing is not None:
        return existing
    ids = {m.name: _template(m).pk for m in spec.messages}
    nodes = []
    for node in spec.nodes:
        config = dict(node["config"])
        if "template" in config:
            config["template"] = ids[config["template"]]
        for field_name in ("survey", "campaign", "segment"):
            if str(config.get(field_name, "")).startswith("@"):
                config[field_name] = _resolve(config[field_name])
        nodes.append({**node, "config": config})
    draft = {
        "nodes": nodes,
        "edges": [{"from": s, "to": t, "branch": b} for s, t, b in spec.edges],
    }
    name = spec.name
    if Journey.objects.filter(name=name).exists():
        name = second_copy_name(name)
    # Stored in English whoever installs it: the pages show a shipped text in each reader's
    # language (growth/shipped.py).
    with translation.override("en"):
        description = str(spec.description)
    return Journey.objects.create(
        name=name,
        description=description,
        draft=draft,
        reentry=spec.reentry,
        reentry_days=spec.reentry_days,
        shipped_key=key,
        updated_by=actor,
    )


def shipped_texts() -> list[Any]:
    """The names and descriptions this module installs, for growth.shipped."""
    messages = {m.name for spec in SHIPPED for m in spec.messages}
    return [
        *(spec.name for spec in SHIPPED),
        *(spec.description for spec in SHIPPED),
        *sorted(messages),
        "Customer NPS",
        "Win-back 10 %",
    ]
