"""The pages a contact reaches from a message: one-click unsubscribe and preferences."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from automations.consent_links import contact_from_token
from automations.models import Topic, TopicOptOut
from automations.models.delivery import Channel
from leads.models import Consent, Contact
from leads.services.consent import consent_set

CHANNELS = [
    (Channel.EMAIL, gettext_lazy("E-mail")),
    (Channel.SMS, gettext_lazy("Text messages (SMS)")),
]


def _contact(token: str) -> Contact:
    contact_id = contact_from_token(token)
    contact = (
        Contact.objects.filter(pk=contact_id, erased_at__isnull=True).first()
        if contact_id
        else None
    )
    if contact is None:
        raise Http404(_("This link is not valid any more."))
    while contact.merged_into_id:  # the person is now known under another record
        contact = Contact.objects.get(pk=contact.merged_into_id)
    return contact


def _proof(request: HttpRequest, how: str) -> dict[str, str]:
    return {
        "how": how,
        "ip": request.META.get("REMOTE_ADDR", ""),
        "user_agent": request.headers.get("User-Agent", "")[:300],
    }


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    contact = _contact(token)
    saved = False
    topics = list(Topic.objects.filter(active=True))
    if request.method == "POST":
        wanted_topics = set(request.POST.getlist("topic"))
        opted_out = {t.pk for t in topics if str(t.pk) not in wanted_topics}
        TopicOptOut.objects.filter(contact=contact, topic__in=topics).exclude(
            topic_id__in=opted_out
        ).delete()
        TopicOptOut.objects.bulk_create(
            [
                TopicOptOut(contact=contact, topic_id=t, source="preferences page")
                for t in opted_out
            ],
            ignore_conflicts=True,
        )
        for channel, _label in CHANNELS:
            wanted = request.POST.get(channel)
            if wanted in (Consent.Status.GRANTED, Consent.Status.DENIED):
                consent_set(
                    contact=contact,
                    channel=channel,
                    status=wanted,
                    source="preferences page",
                    at=timezone.now(),
                    proof=_proof(request, "preferences page"),
                )
        saved = True
    current = dict(contact.consents.values_list("channel", "status"))
    rows = [
        (channel, label, current.get(channel, Consent.Status.UNKNOWN))
        for channel, label in CHANNELS
    ]
    out = set(TopicOptOut.objects.filter(contact=contact).values_list("topic_id", flat=True))
    return render(
        request,
        "automations/consent/preferences.html",
        {
            "contact": contact,
            "rows": rows,
            "saved": saved,
            "token": token,
            "topics": [(t, t.pk not in out) for t in topics],
        },
    )


@csrf_exempt  # RFC 8058: mail apps POST here without a session; the signed URL is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe_one_click(request: HttpRequest, token: str) -> HttpResponse:
    contact = _contact(token)
    if request.method == "GET":
        # A GET never unsubscribes (link scanners follow links): show the choice instead.
        return preferences(request, token)
    consent_set(
        contact=contact,
        channel=Channel.EMAIL,
        status=Consent.Status.DENIED,
        source="one-click unsubscribe",
        at=timezone.now(),
        proof=_proof(request, "List-Unsubscribe-Post"),
    )
    return render(request, "automations/consent/unsubscribed.html", {"token": token})
