"""Turn stored tracking messages into contacts, events, sessions, orders and consent."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.utils.dateparse import parse_datetime

from leads.ingest.attribution import channel_of, touch_from
from leads.ingest.segment import occurred_at
from leads.models import Consent, Contact, Identity, InboundDelivery, Order, Session, Source
from leads.services.consent import consent_set
from leads.services.events import event_record
from leads.services.identity import contact_resolve, contact_save_changes, normalise
from leads.services.inbound import handles

SESSION_GAP = timedelta(minutes=30)
TRAIT_FIELDS = {
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "timezone": "time_zone",
    "locale": "locale",
}


def _keys(message: dict[str, Any]) -> list[tuple[str, Any]]:
    traits = {
        **((message.get("context") or {}).get("traits") or {}),
        **(message.get("traits") or {}),
    }
    properties = message.get("properties") or {}
    return [
        (Identity.Kind.ANONYMOUS_ID, message.get("anonymousId")),
        (Identity.Kind.USER_ID, message.get("userId")),
        (Identity.Kind.EMAIL, traits.get("email") or properties.get("email")),
        (Identity.Kind.PHONE, traits.get("phone")),
    ]


def _apply_traits(contact: Contact, traits: dict[str, Any]) -> None:
    extra = {}
    for key, value in traits.items():
        field = TRAIT_FIELDS.get(key)
        if field and isinstance(value, str | int):
            kind = {"email": Identity.Kind.EMAIL, "phone": Identity.Kind.PHONE}.get(field, "")
            setattr(contact, field, normalise(kind, value)[:254])
        elif key == "name" and isinstance(value, str) and not contact.first_name:
            first, _, last = value.partition(" ")
            contact.first_name, contact.last_name = first, last or contact.last_name
        elif key == "company":
            contact.company = str(value.get("name", "") if isinstance(value, dict) else value)[:200]
        elif key == "address" and isinstance(value, dict) and value.get("country"):
            contact.country = str(value["country"])[:2].upper()
        else:
            extra[key] = value
    contact.properties = {**contact.properties, **extra}


def _touch_contact(contact: Contact, at: datetime, context: dict[str, Any]) -> None:
    if not contact.last_seen_at or at > contact.last_seen_at:
        contact.last_seen_at = at
    if at < contact.created_at:  # history sent late: the contact existed since then
        contact.created_at = at
    if context.get("timezone") and not contact.time_zone:
        contact.time_zone = str(context["timezone"])[:64]
    if context.get("locale") and not contact.locale:
        contact.locale = str(context["locale"])[:20]


class SessionBook:
    """The visits of some contacts, read once and written once: page views find the visit they
    belong to in memory (a new one after 30 idle minutes or a new campaign), so a batch of
    messages costs one read and two writes for all its sessions."""

    def __init__(self, contact_ids: Iterable[int], since: datetime) -> None:
        self._by_contact: dict[int, list[Session]] = defaultdict(list)
        self._new: list[Session] = []
        self._visited: dict[int, Session] = {}
        ids = list(contact_ids)
        if ids:
            recent = Session.objects.filter(
                contact_id__in=ids, last_activity_at__gte=since - SESSION_GAP
            )
            for session in recent:
                self._by_contact[session.contact_id].append(session)

    def visit(
        self, contact: Contact, source: Source, message: dict[str, Any], at: datetime
    ) -> Session:
        context = message.get("context") or {}
        page = {**(context.get("page") or {}), **(message.get("properties") or {})}
        touch = touch_from(page.get("url", ""), page.get("referrer", ""), context.get("campaign"))
        candidates = [
            s
            for s in self._by_contact[contact.pk]
            if s.last_activity_at >= at - SESSION_GAP and s.started_at <= at
        ]
        recent = max(candidates, key=lambda s: s.last_activity_at, default=None)
        new_campaign = (
            touch.get("utm_campaign") and recent and touch["utm_campaign"] != recent.utm_campaign
        )
        if recent and not new_campaign:
            recent.page_views += 1
            recent.last_activity_at = max(recent.last_activity_at, at)
            if recent.pk:
                self._visited[recent.pk] = recent
            return recent
        own_host = urlsplit(page.get("url", "")).hostname or ""
        channel = channel_of(touch, own_host)
        session = Session(
            contact=contact,
            source=source,
            anonymous_id=str(message.get("anonymousId") or "")[:200],
            started_at=at,
            last_activity_at=at,
            landing_url=touch.get("landing_url", ""),
            referrer=touch.get("referrer", ""),
            click_ids={k: touch[k] for k in ("gclid", "fbclid", "ttclid") if k in touch},
            channel=channel,
            page_views=1,
            **{
                k: touch.get(k, "")
                for k in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
            },
        )
        self._by_contact[contact.pk].append(session)
        self._new.append(session)
        stamped = {**touch, "channel": channel, "at": at.isoformat()}
        if not contact.first_touch:
            contact.first_touch, contact.source_channel = stamped, channel
        contact.last_touch = stamped
        return session

    def current(self, contact: Contact, at: datetime) -> Session | None:
        """The visit a tracked action at `at` happened in (the latest one still active then),
        so the shop funnel can follow a visit from product view to order."""
        candidates = [
            s
            for s in self._by_contact[contact.pk]
            if s.started_at <= at and s.last_activity_at >= at - SESSION_GAP
        ]
        return max(candidates, key=lambda s: s.started_at, default=None)

    def save(self) -> None:
        Session.objects.bulk_create(self._new)
        if self._visited:
            Session.objects.bulk_update(
                list(self._visited.values()), ["page_views", "last_activity_at"]
            )
        self._new, self._visited = [], {}


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return Decimal("0")


def _order_from_event(
    contact: Contact, source: Source, properties: dict[str, Any], at: datetime
) -> None:
    """Segment's "Order Completed" for shops that send no order webhooks."""
    order_id = str(properties.get("order_id") or properties.get("checkout_id") or "")
    if not order_id:
        return
    total = _money(properties.get("total") or properties.get("revenue") or 0)
    coupon = properties.get("coupon")
    Order.objects.get_or_create(
        source=source,
        shop_order_id=order_id,
        defaults={
            "contact": contact,
            "status": Order.Status.PAID,
            "currency": str(properties.get("currency") or "USD")[:3].upper(),
            "total": total,
            "subtotal": _money(properties.get("subtotal") or total),
            "discount_total": _money(properties.get("discount") or 0),
            "shipping_total": _money(properties.get("shipping") or 0),
            "tax_total": _money(properties.get("tax") or 0),
            "coupon_codes": [str(coupon)] if coupon else [],
            "placed_at": at,
            "shop_updated_at": at,
        },
    )


def message_keys(message: dict[str, Any]) -> list[tuple[str, str]]:
    """The identities a message names, normalised; empty ones left out."""
    keys = [(kind, normalise(kind, value)) for kind, value in _keys(message) if value]
    return [(kind, value) for kind, value in keys if value]


def message_time(delivery: InboundDelivery, message: dict[str, Any]) -> datetime:
    received = parse_datetime(message.get("receivedAt") or "") or delivery.received_at
    return occurred_at(message, received)


def interpret(
    contact: Contact,
    source: Source,
    message: dict[str, Any],
    at: datetime,
    sessions: SessionBook,
) -> tuple[str, dict[str, Any], Session | None]:
    """Apply one track/identify/page/screen/group message to its (resolved) contact in
    memory, with its side effects (orders, consent); returns the event to record."""
    kind = message["type"]
    _touch_contact(contact, at, message.get("context") or {})
    properties = dict(message.get("properties") or {})
    session = None
    if kind == "identify":
        _apply_traits(contact, message.get("traits") or {})
        name = "Identified"
        properties = {"traits": message.get("traits") or {}}
    elif kind in ("page", "screen"):
        session = sessions.visit(contact, source, message, at) if kind == "page" else None
        name = "Page Viewed" if kind == "page" else "Screen Viewed"
        if message.get("name"):
            properties.setdefault("name", message["name"])
    elif kind == "group":
        traits = message.get("traits") or {}
        if traits.get("name") and not contact.company:
            contact.company = str(traits["name"])[:200]
        name, properties = "Group", {"group_id": message["groupId"], "traits": traits}
    else:
        name = str(message["event"])[:200]
        session = sessions.current(contact, at)
        _apply_event_effects(contact, source, name, properties, at)
    return name, properties, session


@handles(Source.Kind.TRACKING, "track", "identify", "page", "screen", "group", "alias")
def handle_tracking(delivery: InboundDelivery) -> bool:
    """One message on its own: the path for aliases and for messages whose identities belong
    to several contacts (a merge). Everything else goes through `tracking_batch`."""
    message = json.loads(bytes(delivery.body))
    source = delivery.source
    at = message_time(delivery, message)

    if message["type"] == "alias":
        # previousId may be an anonymous id or an older user id: whichever is known joins.
        previous = str(message["previousId"])
        other = Identity.objects.filter(
            value=previous, kind__in=[Identity.Kind.ANONYMOUS_ID, Identity.Kind.USER_ID]
        ).first()
        kind_of_previous = other.kind if other else Identity.Kind.ANONYMOUS_ID
        contact = contact_resolve(
            keys=[(Identity.Kind.USER_ID, message["userId"]), (kind_of_previous, previous)],
            source=source,
        )
        contact_save_changes(contact)
        return True

    contact = contact_resolve(keys=_keys(message), source=source)
    sessions = SessionBook([contact.pk], since=at)
    name, properties, session = interpret(contact, source, message, at, sessions)
    sessions.save()
    contact_save_changes(contact)
    event_record(
        contact=contact,
        source=source,
        session=session,
        name=name,
        properties=properties,
        occurred_at=at,
        message_id=str(message.get("messageId") or ""),
    )
    return True


def _apply_event_effects(
    contact: Contact, source: Source, name: str, properties: dict[str, Any], at: datetime
) -> None:
    if name == "Order Completed":
        _order_from_event(contact, source, properties, at)
    elif name == "Newsletter Subscribed":
        consent_set(
            contact=contact,
            channel=Consent.Channel.EMAIL,
            status=Consent.Status.GRANTED,
            source=f"tracking:{source.slug}:newsletter",
            at=at,
            proof={"event": name, "properties": properties},
        )
    elif name == "Signed Up" and properties.get("email") and not contact.email:
        contact.email = str(properties["email"]).lower()
