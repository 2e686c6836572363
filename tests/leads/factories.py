from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory

from leads.models import Consent, Contact, Event, Identity, Order, Source


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    name = factory.Sequence(lambda n: f"Source {n}")
    slug = factory.Sequence(lambda n: f"source-{n}")
    kind = Source.Kind.TRACKING
    secret = "shop-secret"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    country = "US"
    time_zone = "America/New_York"


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    contact = factory.SubFactory(ContactFactory)
    kind = Identity.Kind.EMAIL
    value = factory.LazyAttribute(lambda i: i.contact.email.lower())


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    contact = factory.SubFactory(ContactFactory)
    name = "Product Viewed"
    properties = factory.LazyFunction(dict)
    occurred_at = factory.LazyFunction(lambda: datetime.now(UTC))


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    source = factory.SubFactory(SourceFactory, kind=Source.Kind.SHOPIFY)
    shop_order_id = factory.Sequence(lambda n: str(1000 + n))
    contact = factory.SubFactory(ContactFactory)
    currency = "USD"
    total = Decimal("59.90")
    subtotal = Decimal("59.90")
    placed_at = factory.LazyFunction(lambda: datetime.now(UTC))
    shop_updated_at = factory.LazyFunction(lambda: datetime.now(UTC))


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    contact = factory.SubFactory(ContactFactory)
    channel = Consent.Channel.EMAIL
    status = Consent.Status.GRANTED
    source = "test"
    changed_at = factory.LazyFunction(lambda: datetime.now(UTC))
