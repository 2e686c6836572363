"""Provider callbacks, raw first: SendGrid events (signed with ECDSA, verified by anymail)
and Twilio callbacks (X-Twilio-Signature) are stored, then processed: statuses advance and
never regress, hard bounces and complaints suppress, unsubscribes and STOP withdraw consent
for the next send; the one-click unsubscribe and the preferences page."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from twilio.request_validator import RequestValidator

from automations.consent_links import contact_token, unsubscribe_headers
from automations.models import Delivery, Suppression
from automations.services.deliveries import deliveries_dispatch, delivery_schedule
from automations.services.sending import delivery_send
from leads.models import Consent, InboundDelivery
from tests.leads.factories import ConsentFactory, ContactFactory, IdentityFactory
from tests.leads.helpers import process_all

pytestmark = pytest.mark.django_db

TOKEN = "twilio-test-token"
NOON = datetime(2025, 6, 10, 10, tzinfo=UTC)
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)  # consent given before any event of these tests


@pytest.fixture
def signing_key(settings):  # type: ignore[no-untyped-def]
    """A SendGrid-style event-webhook key pair; the public half is configured."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = b"".join(public.splitlines()[1:-1]).decode()
    settings.ANYMAIL = {**settings.ANYMAIL, "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": body}
    return private


def post_events(client: Client, key, events: list[dict], *, tamper: bool = False):  # type: ignore[no-untyped-def]
    body = json.dumps(events).encode()
    stamp = "1718000000"
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return client.post(
        "/webhooks/sendgrid/events/",
        body + (b" " if tamper else b""),
        content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=base64.b64encode(signature).decode(),
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=stamp,
    )


def sent_email(email: str = "anna@example.com", key: str = "run-1:node-1") -> Delivery:
    contact = ContactFactory(email=email, phone="+4915112345678", time_zone="Europe/Berlin")
    ConsentFactory(
        contact=contact, channel="email", status=Consent.Status.GRANTED, changed_at=LONG_AGO
    )
    delivery = delivery_schedule(
        key=key,
        contact=contact,
        channel="email",
        purpose="marketing",
        due_at=NOON,
        subject="Hi",
        text="Hi",
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sent", sent_at=NOON, provider_message_id="anymail-1"
    )
    delivery.refresh_from_db()
    return delivery


def event(kind: str, delivery: Delivery, **extra: object) -> dict[str, object]:
    return {
        "event": kind,
        "email": delivery.to_address,
        "timestamp": 1718000000,
        "sg_event_id": f"ev-{kind}",
        "anymail_id": "anymail-1",
        "growth-key": delivery.key,
        **extra,
    }


def test_unsigned_or_badly_signed_events_are_refused_and_not_stored(client, signing_key):
    delivery = sent_email()
    assert (
        post_events(client, signing_key, [event("open", delivery)], tamper=True).status_code == 401
    )
    assert (
        client.post(
            "/webhooks/sendgrid/events/", b"[]", content_type="application/json"
        ).status_code
        == 401
    )
    assert not InboundDelivery.objects.exists()


def test_events_without_any_verification_configured_are_refused(client, settings):
    settings.ANYMAIL = {k: v for k, v in settings.ANYMAIL.items() if "VERIFICATION" not in k}
    answer = client.post("/webhooks/sendgrid/events/", b"[]", content_type="application/json")
    assert answer.status_code == 401 and "VERIFICATION_KEY" in answer.json()["error"]


def test_engagement_advances_and_a_late_delivered_does_not_take_it_back(client, signing_key):
    delivery = sent_email()
    events = [event("open", delivery), event("click", delivery, url="https://shop/p")]
    assert post_events(client, signing_key, events).status_code == 200
    assert post_events(client, signing_key, events).status_code == 200  # a retry: stored once
    assert InboundDelivery.objects.count() == 1
    post_events(client, signing_key, [event("delivered", delivery)])
    process_all()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.CLICKED
    assert delivery.opened_at and delivery.clicked_at and delivery.delivered_at


def test_a_hard_bounce_suppresses_a_block_does_not(client, signing_key):
    hard = sent_email("gone@example.com", "k1")
    soft = sent_email("busy@example.com", "k2")
    post_events(
        client,
        signing_key,
        [
            event("bounce", hard, type="bounce", reason="550 no such user"),
            event("bounce", soft, type="blocked", reason="421 try later"),
        ],
    )
    process_all()
    assert list(Suppression.objects.values_list("address", "reason")) == [
        ("gone@example.com", "hard_bounce")
    ]
    hard.refresh_from_db()
    assert hard.status == Delivery.Status.BOUNCED and "550" in hard.reason


def test_a_spam_complaint_suppresses_and_withdraws_consent(client, signing_key):
    delivery = sent_email()
    post_events(client, signing_key, [event("spamreport", delivery)])
    process_all()
    assert Suppression.objects.get().reason == "complaint"
    assert Consent.objects.get(contact=delivery.contact, channel="email").status == "denied"


def twilio_post(client: Client, path: str, form: dict[str, str], *, sign: bool = True):  # type: ignore[no-untyped-def]
    from django.conf import settings

    url = settings.PUBLIC_URL + path
    signature = RequestValidator(TOKEN).compute_signature(url, form) if sign else "nope"
    return client.post(
        path,
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


@pytest.fixture
def twilio_token(settings):  # type: ignore[no-untyped-def]
    settings.TWILIO_AUTH_TOKEN = TOKEN
    return TOKEN


def test_twilio_callbacks_need_a_valid_signature(client, twilio_token):
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert twilio_post(client, "/webhooks/twilio/status/", form, sign=False).status_code == 401
    assert twilio_post(client, "/webhooks/twilio/status/", form).status_code == 204
    assert InboundDelivery.objects.count() == 1


def test_an_sms_to_an_invalid_number_suppresses_it(client, twilio_token):
    contact = ContactFactory(phone="+4915100000000")
    delivery = delivery_schedule(
        key="sms-1", contact=contact, channel="sms", purpose="transactional", due_at=NOON, text="x"
    )
    Delivery.objects.filter(pk=delivery.pk).update(status="sent", provider_message_id="SM9")
    twilio_post(
        client,
        "/webhooks/twilio/status/",
        {"MessageSid": "SM9", "MessageStatus": "undelivered", "ErrorCode": "21614"},
    )
    process_all()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and "21614" in delivery.reason
    assert Suppression.objects.get().address == "+4915100000000"


@pytest.mark.parametrize(("word", "status"), [("stop", "denied"), ("Unsubscribe.", "denied")])
def test_stop_opts_out_and_start_opts_back_in_for_the_next_send(
    client, twilio_token, settings, word, status
):
    settings.TWILIO_ACCOUNT_SID = ""  # sends go to the outbox
    anna = ContactFactory(phone="+4915112345678", time_zone="Europe/Berlin")
    IdentityFactory(contact=anna, kind="phone", value="+4915112345678")
    ConsentFactory(contact=anna, channel="sms", status=Consent.Status.GRANTED, changed_at=LONG_AGO)
    twilio_post(
        client,
        "/webhooks/twilio/inbound/",
        {"MessageSid": "SMin1", "From": "+4915112345678", "To": "+1500", "Body": word},
    )
    process_all()
    assert Consent.objects.get(contact=anna, channel="sms").status == status

    delivery_schedule(
        key="offer", contact=anna, channel="sms", purpose="marketing", due_at=NOON, text="50 % off"
    )
    [claimed] = deliveries_dispatch(now=NOON)
    assert delivery_send(delivery_id=claimed, now=NOON) is None
    assert Delivery.objects.get(key="offer").status == Delivery.Status.SUPPRESSED

    twilio_post(
        client,
        "/webhooks/twilio/inbound/",
        {"MessageSid": "SMin2", "From": "+4915112345678", "To": "+1500", "Body": "START"},
    )
    process_all()
    assert Consent.objects.get(contact=anna, channel="sms").status == "granted"


def test_help_is_answered_with_a_message(client, twilio_token):
    twilio_post(
        client,
        "/webhooks/twilio/inbound/",
        {"MessageSid": "SMh", "From": "+4915199999999", "To": "+1500", "Body": "help"},
    )
    process_all()
    answer = Delivery.objects.get(origin="sms-help")
    assert answer.to_address == "+4915199999999" and "STOP" in answer.body_text


# --- Unsubscribe and preferences ----------------------------------------------------------


def test_marketing_email_carries_rfc_8058_headers_and_one_click_unsubscribes(client):
    delivery = sent_email()
    headers = unsubscribe_headers(delivery)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{path}").status_code == 200  # a link scanner's GET changes nothing
    assert Consent.objects.get(contact=delivery.contact, channel="email").status == "granted"
    answer = client.post(
        f"/{path}", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200
    assert Consent.objects.get(contact=delivery.contact, channel="email").status == "denied"


def test_transactional_email_has_no_unsubscribe_header():
    delivery = sent_email()
    delivery.purpose = "transactional"
    assert unsubscribe_headers(delivery) == {}


def test_the_preferences_page_changes_consent_per_channel(client):
    anna = ContactFactory()
    page = client.get(f"/u/{contact_token(anna.pk)}/")
    assert page.status_code == 200 and b'data-testid="preferences"' in page.content
    client.post(f"/u/{contact_token(anna.pk)}/", {"email": "denied", "sms": "granted"})
    consents = dict(Consent.objects.filter(contact=anna).values_list("channel", "status"))
    assert consents == {"email": "denied", "sms": "granted"}


def test_a_forged_link_is_a_404(client):
    anna = ContactFactory()
    other = ContactFactory()
    forged = f"{other.pk}:" + contact_token(anna.pk).split(":", 1)[1]
    assert client.get(f"/u/{forged}/").status_code == 404
    assert client.post(f"/u/{forged}/one-click/").status_code == 404
