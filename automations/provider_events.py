"""What providers tell us, processed from the raw inbound store: delivery and engagement
events update the delivery; hard bounces and complaints suppress the address; unsubscribes,
complaints and STOP keywords withdraw consent, effective for the next send."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from anymail.signals import EventType
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from automations import signals as automation_signals
from automations import webhooks_out
from automations.models import Delivery, Suppression
from automations.models.delivery import Channel, Purpose
from automations.services.deliveries import delivery_schedule, suppression_add
from leads.models import Consent, Contact, InboundDelivery, Source
from leads.services.consent import consent_set
from leads.services.identity import normalise
from leads.services.inbound import handles

log = logging.getLogger(__name__)

S = Delivery.Status
# A later event never takes a delivery back: opened stays opened when "delivered" arrives late.
PROGRESS: dict[str, int] = {S.SENDING: 0, S.SENT: 1, S.DELIVERED: 2, S.OPENED: 3, S.CLICKED: 4}
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
START_WORDS = {"START", "UNSTOP"}
HELP_WORDS = {"HELP"}
# Twilio error codes: the number is not a mobile that can be reached / the person said STOP.
TWILIO_INVALID = {"21211", "21614", "30005", "30006"}
TWILIO_OPTED_OUT = "21610"

# anymail's parser for SendGrid's event format, without the view's settings checks.
_sendgrid = SendGridTrackingWebhookView.__new__(SendGridTrackingWebhookView)


def _find(key: str | None, message_id: str | None) -> Delivery | None:
    if not key and not message_id:
        return None
    query = Q(key=key) if key else Q(provider_message_id=message_id)
    return (
        Delivery.objects.select_for_update(of=("self",))
        .filter(query)
        .select_related("contact")
        .first()
    )


def _advance(delivery: Delivery, status: str, at: datetime | None, stamp: str | None) -> list[str]:
    fields = []
    if stamp and getattr(delivery, stamp) is None:
        setattr(delivery, stamp, at or timezone.now())
        fields.append(stamp)
    if delivery.status in PROGRESS and PROGRESS[delivery.status] < PROGRESS[status]:
        delivery.status = status
        fields.append("status")
    return fields


def _withdraw(
    contact: Contact | None, channel: str, source: str, at: datetime, proof: dict[str, Any]
) -> None:
    if contact is not None:
        consent_set(
            contact=contact,
            channel=channel,
            status=Consent.Status.DENIED,
            source=source,
            at=at,
            proof=proof,
        )


def _unreachable(delivery: Delivery, reason: str) -> None:
    contact_id, channel = delivery.contact_id, delivery.channel
    if contact_id is not None:
        transaction.on_commit(
            lambda: automation_signals.contact_unreachable.send(
                sender=Delivery, contact_id=contact_id, channel=channel, reason=reason
            )
        )


def _apply_email_event(event: Any) -> tuple[int, str] | None:
    """Apply one SendGrid event; (delivery id, new status) when the status changed."""
    metadata = event.metadata or {}
    delivery = _find(metadata.get("growth-key"), event.message_id)
    if delivery is None:
        log.info("sendgrid event for an unknown message: %s", event.message_id)
        return None
    at = event.timestamp or timezone.now()
    kind = event.event_type
    fields: list[str] = []
    proof = {"provider": "sendgrid", "event_id": event.event_id, "delivery": delivery.key}
    if kind == EventType.DELIVERED:
        fields = _advance(delivery, S.DELIVERED, at, "delivered_at")
    elif kind == EventType.OPENED:
        fields = _advance(delivery, S.OPENED, at, "opened_at")
    elif kind == EventType.CLICKED:
        fields = _advance(delivery, S.CLICKED, at, "clicked_at")
    elif kind == EventType.BOUNCED:
        delivery.status, delivery.reason = S.BOUNCED, event.mta_response or _("Bounced.")
        fields = ["status", "reason"]
        # SendGrid's "blocked" is temporary (a reputation or content block), "bounce" is not.
        if (event.esp_event or {}).get("type", "bounce") == "bounce":
            suppression_add(
                channel=Channel.EMAIL,
                address=delivery.to_address,
                reason=Suppression.Reason.HARD_BOUNCE,
                detail=event.mta_response or "",
            )
            _unreachable(delivery, Suppression.Reason.HARD_BOUNCE)
    elif kind == EventType.REJECTED:
        delivery.status = S.FAILED
        delivery.reason = _("The provider dropped it: %(why)s") % {
            "why": event.reject_reason or event.mta_response or "?"
        }
        fields = ["status", "reason"]
    elif kind == EventType.COMPLAINED:
        delivery.status = S.COMPLAINED
        fields = ["status"]
        suppression_add(
            channel=Channel.EMAIL,
            address=delivery.to_address,
            reason=Suppression.Reason.COMPLAINT,
            detail=_("Marked as spam on %(day)s") % {"day": at.date().isoformat()},
        )
        _withdraw(delivery.contact, Channel.EMAIL, "sendgrid:spamreport", at, proof)
    elif kind == EventType.UNSUBSCRIBED:
        delivery.status = S.UNSUBSCRIBED
        fields = ["status"]
        _withdraw(delivery.contact, Channel.EMAIL, "sendgrid:unsubscribe", at, proof)
    if fields:
        delivery.save(update_fields=[*set(fields), "updated_at"])
    return (delivery.pk, delivery.status) if "status" in fields else None


@handles(Source.Kind.SENDGRID, "events")
def sendgrid_events(inbound: InboundDelivery) -> bool:
    import json

    changed: list[tuple[int, str]] = []
    for raw in json.loads(bytes(inbound.body)):
        if isinstance(raw, dict) and "event" in raw:
            change = _apply_email_event(_sendgrid.esp_to_anymail_event(raw))
            if change is not None:
                changed.append(change)
    # delivery.<status> for outbound webhooks: one statement for the whole post.
    webhooks_out.deliveries_changed(changed)
    return True


def _form(inbound: InboundDelivery) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(bytes(inbound.body).decode()).items() if v}


@handles(Source.Kind.TWILIO, "status")
def twilio_status(inbound: InboundDelivery) -> bool:
    form = _form(inbound)
    delivery = _find(None, form.get("MessageSid"))
    if delivery is None:
        return False  # not one of ours (another app on the same number)
    status, code = form.get("MessageStatus", ""), form.get("ErrorCode", "")
    fields: list[str] = []
    if status == "delivered":
        fields = _advance(delivery, S.DELIVERED, timezone.now(), "delivered_at")
    elif status in {"undelivered", "failed"}:
        delivery.status = S.FAILED
        delivery.reason = _("Twilio could not deliver it (error %(code)s).") % {"code": code or "?"}
        fields = ["status", "reason"]
        if code in TWILIO_INVALID:
            suppression_add(
                channel=Channel.SMS,
                address=delivery.to_address,
                reason=Suppression.Reason.INVALID,
                detail=f"Twilio error {code}",
            )
        elif code == TWILIO_OPTED_OUT:
            _withdraw(
                delivery.contact,
                Channel.SMS,
                "twilio:21610",
                timezone.now(),
                {"provider": "twilio", "sid": form.get("MessageSid")},
            )
    if fields:
        delivery.save(update_fields=[*set(fields), "updated_at"])
        if "status" in fields:
            webhooks_out.deliveries_changed([(delivery.pk, delivery.status)])
    return True


def _contacts_with_phone(phone: str) -> list[Contact]:
    value = normalise("phone", phone)
    return list(
        Contact.objects.filter(
            Q(identities__kind="phone", identities__value=value) | Q(phone=value),
            merged_into__isnull=True,
        ).distinct()
    )


@handles(Source.Kind.TWILIO, "inbound")
def twilio_inbound(inbound: InboundDelivery) -> bool:
    """STOP and its synonyms opt the sender out of SMS, START opts back in, HELP is
    answered; anything else is a reply (the cadences issue ends enrollments on it)."""
    form = _form(inbound)
    word = form.get("Body", "").strip().upper().rstrip(".!")
    contacts = _contacts_with_phone(form.get("From", ""))
    at = inbound.received_at or datetime.now(UTC)
    proof = {"provider": "twilio", "sid": form.get("MessageSid"), "body": form.get("Body", "")}
    if word in STOP_WORDS or word in START_WORDS:
        status = Consent.Status.DENIED if word in STOP_WORDS else Consent.Status.GRANTED
        for contact in contacts:
            consent_set(
                contact=contact,
                channel=Channel.SMS,
                status=status,
                source=f"sms:{word.lower()}",
                at=at,
                proof=proof,
            )
        return bool(contacts)
    if word in HELP_WORDS:
        delivery_schedule(
            key=f"sms-help:{form.get('MessageSid')}",
            contact=contacts[0] if contacts else None,
            channel=Channel.SMS,
            purpose=Purpose.TRANSACTIONAL,
            due_at=timezone.now(),
            text=settings.SMS_HELP_TEXT,
            origin="sms-help",
            to_address=form.get("From", ""),
        )
        return True
    # A reply: kept in the inbound store; cadences end the sender's enrollment on it.
    ids = [contact.pk for contact in contacts]
    transaction.on_commit(
        lambda: [
            automation_signals.reply_received.send(
                sender=Contact, contact_id=contact_id, channel=Channel.SMS, inbound_id=inbound.pk
            )
            for contact_id in ids
        ]
    )
    return bool(ids)


# --- Inbound e-mail (replies) ---------------------------------------------------------------

AUTO_REPLY_SUBJECTS = ("out of office", "automatic reply", "auto-reply", "autoreply")


def _inbound_request(inbound: InboundDelivery) -> Any:
    """The stored multipart body as a request anymail's SendGrid parser can read."""
    from io import BytesIO

    from django.core.handlers.wsgi import WSGIRequest

    body = bytes(inbound.body)
    return WSGIRequest(
        {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": (inbound.headers or {}).get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": BytesIO(body),
            "PATH_INFO": "/",
            "SERVER_NAME": "inbound",
            "SERVER_PORT": "443",
            "wsgi.url_scheme": "https",
        }
    )


@handles(Source.Kind.SENDGRID, "inbound")
def sendgrid_inbound(inbound: InboundDelivery) -> bool:
    """An e-mail to the reply-to address: a reply from its sender, unless it is an
    auto-reply (out of office), which must not end a cadence."""
    from anymail.webhooks.sendgrid import SendGridInboundWebhookView

    view = SendGridInboundWebhookView.__new__(SendGridInboundWebhookView)
    try:
        message = view.esp_to_anymail_event(_inbound_request(inbound)).message
    except (KeyError, ValueError) as problem:
        raise ValueError(f"not a SendGrid inbound e-mail: {problem}") from problem
    sender = message.from_email.addr_spec.strip().lower() if message.from_email else ""
    subject = (message.subject or "").strip().lower()
    automatic = (message.get("Auto-Submitted", "no").lower() != "no") or subject.startswith(
        AUTO_REPLY_SUBJECTS
    )
    if not sender or automatic:
        return False
    ids = list(
        Contact.objects.filter(email__iexact=sender, merged_into__isnull=True).values_list(
            "pk", flat=True
        )
    )
    transaction.on_commit(
        lambda: [
            automation_signals.reply_received.send(
                sender=Contact, contact_id=contact_id, channel=Channel.EMAIL, inbound_id=inbound.pk
            )
            for contact_id in ids
        ]
    )
    return bool(ids)
