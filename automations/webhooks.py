"""Provider callbacks: SendGrid's event webhook and Twilio's status and inbound-SMS
callbacks. Each is authenticated on the raw request (SendGrid's ECDSA signature or basic
auth, through anymail; Twilio's X-Twilio-Signature), stored raw as an inbound delivery and
acknowledged; the inbound workers process it (`automations.provider_events`)."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.base import AnymailBasicAuthMixin
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from leads.models import Source
from leads.services.inbound import Incoming, inbound_store_many

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024  # SendGrid posts up to ~1,000 events at once
PROVIDER_SOURCES: dict[str, tuple[str, str]] = {
    Source.Kind.SENDGRID: ("provider-sendgrid", "SendGrid events"),
    Source.Kind.TWILIO: ("provider-twilio", "Twilio callbacks"),
}


def provider_source(kind: str) -> Source:
    slug, name = PROVIDER_SOURCES[kind]
    source, _created = Source.objects.get_or_create(
        slug=slug, defaults={"name": name, "kind": kind}
    )
    return source


def _refused(message: str, status: int = 401) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _store(kind: str, topic: str, delivery_id: str, request: HttpRequest) -> None:
    headers = {"Content-Type": request.headers.get("Content-Type", "")}
    inbound_store_many(
        source=provider_source(kind),
        items=[Incoming(topic, delivery_id, request.body)],
        headers=headers,
    )


class SendGridEventsView(SendGridTrackingWebhookView):
    """anymail's SendGrid tracking webhook, validated by anymail, stored raw by Growth."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (self.webhook_verification_key or self.basic_auth):
            # Refuse rather than accept anyone's events: they suppress addresses.
            return _refused(
                "SendGrid events are not accepted: set SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY "
                "(signed events) or ANYMAIL_WEBHOOK_SECRET (basic auth)."
            )
        if len(request.body) > MAX_BODY:
            return _refused("The body is larger than 5 MB.", status=413)
        try:
            self.run_validators(request)
        except AnymailWebhookValidationFailure as failure:
            log.warning("sendgrid webhook refused: %s", failure)
            return _refused("The signature or credentials do not match.")
        try:
            events = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _refused("The body is not JSON.", status=400)
        if not isinstance(events, list):
            return _refused("The body must be a JSON array of events.", status=400)
        # SendGrid retries a batch with the same body: its digest makes the retry a duplicate.
        _store(Source.Kind.SENDGRID, "events", hashlib.sha256(request.body).hexdigest(), request)
        return HttpResponse(status=200)


sendgrid_events = SendGridEventsView.as_view()


class SendGridInboundView(SendGridEventsView):
    """SendGrid Inbound Parse: e-mail replies to the reply-to domain, posted as a
    multipart form behind basic auth (ANYMAIL_WEBHOOK_SECRET in the URL SendGrid is given),
    stored raw; the workers match the sender and end its cadence (a reply)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.basic_auth:
            return _refused(
                "Inbound e-mail is not accepted: set ANYMAIL_WEBHOOK_SECRET and give SendGrid "
                "the URL with those credentials."
            )
        if len(request.body) > MAX_BODY:
            return _refused("The body is larger than 5 MB.", status=413)
        try:
            # Basic auth only (inbound parse is not signed): the mixin's check, not the
            # event webhook's signature check.
            AnymailBasicAuthMixin.validate_request(self, request)
        except AnymailWebhookValidationFailure as failure:
            log.warning("sendgrid inbound refused: %s", failure)
            return _refused("The credentials do not match.")
        if not (request.content_type or "").startswith("multipart/form-data"):
            return _refused("Inbound Parse posts multipart/form-data.", status=400)
        _store(Source.Kind.SENDGRID, "inbound", hashlib.sha256(request.body).hexdigest(), request)
        return HttpResponse(status=200)


sendgrid_inbound = SendGridInboundView.as_view()


def _twilio_signed(request: HttpRequest) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return False
    # Twilio signs the URL it called; behind a proxy that is the public one.
    url = settings.PUBLIC_URL + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(signature) and RequestValidator(token).validate(url, request.POST, signature)


def _twilio(topic: str, request: HttpRequest) -> HttpResponse | None:
    """Refusal, or None when stored."""
    if len(request.body) > MAX_BODY:
        return _refused("The body is larger than 5 MB.", status=413)
    if not _twilio_signed(request):
        return _refused("The X-Twilio-Signature does not match this request.")
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    if not sid:
        return _refused("MessageSid is missing.", status=400)
    # A status callback comes once per status change; an inbound message once per sid.
    key = f"{topic}:{sid}:{request.POST.get('MessageStatus', '')}"
    _store(Source.Kind.TWILIO, topic, key, request)
    return None


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    return _twilio("status", request) or HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """Replies and keywords (STOP, START, HELP). Answered with empty TwiML: replies that
    need an answer (HELP) are sent as messages of their own once processed."""
    refused = _twilio("inbound", request)
    if refused:
        return refused
    return HttpResponse("<Response/>", content_type="text/xml")
