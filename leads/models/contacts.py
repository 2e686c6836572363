from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Lower
from django.utils.translation import gettext_lazy as _

# The text the contact search matches: one lower-cased string, so a single trigram index
# answers "name, e-mail or phone contains …" (leads.selectors filters on this same expression).
SEARCH_TEXT = Lower(
    Concat("first_name", Value(" "), "last_name", Value(" "), "email", Value(" "), "phone")
)


class Contact(models.Model):
    """One person, however many devices, addresses and ids they arrive with."""

    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)  # E.164 when known
    country = models.CharField(_("country"), max_length=2, blank=True)  # ISO 3166-1 alpha-2
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)  # IANA name
    locale = models.CharField(_("locale"), max_length=20, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)

    # Filled in by the scoring issue; reserved here so the record has one shape.
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=20, default="subscriber")
    score = models.IntegerField(_("score"), default=0)

    # Attribution: the first and the latest touch (utm_*, referrer, gclid/fbclid/ttclid).
    first_touch = models.JSONField(default=dict, blank=True)
    last_touch = models.JSONField(default=dict, blank=True)
    source_channel = models.CharField(_("source"), max_length=80, blank=True)  # from first touch

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(Lower("email"), name="contact_email_ci"),
            models.Index(fields=["phone"], name="contact_phone"),
            models.Index(fields=["-created_at", "-id"], name="contact_created"),
            models.Index(fields=["-last_seen_at", "-id"], name="contact_last_seen"),
            models.Index(fields=["lifecycle_stage", "-id"], name="contact_stage"),
            models.Index(fields=["source_channel"], name="contact_source"),
            models.Index(fields=["country"], name="contact_country"),
            GinIndex(fields=["properties"], name="contact_properties"),
            GinIndex(OpClass(SEARCH_TEXT, name="gin_trgm_ops"), name="contact_search_trgm"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or self.phone or _("Visitor #%(id)s") % {"id": self.pk}


class Identity(models.Model):
    """A way to recognise a contact. One value belongs to one contact at a time."""

    class Kind(models.TextChoices):
        ANONYMOUS_ID = "anonymous_id", _("anonymous id")
        USER_ID = "user_id", _("user id")
        EMAIL = "email", _("e-mail")
        PHONE = "phone", _("phone")
        SHOP_CUSTOMER = "shop_customer", _("shop customer id")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(
        max_length=254
    )  # normalised: e-mail lower-cased, shop id "<source>:<id>"
    source = models.ForeignKey("leads.Source", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_kind_value")
        ]
        indexes = [models.Index(fields=["contact", "kind"], name="identity_contact")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Consent(models.Model):
    """Permission to reach a contact on one channel, with where it came from."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")
        PHONE = "phone", _("phone")

    class Status(models.TextChoices):
        GRANTED = "granted", _("granted")
        DENIED = "denied", _("denied")  # unsubscribed, STOP, or never asked and refused
        UNKNOWN = "unknown", _("unknown")

    # Ordered from most to least restrictive: merges keep the most restrictive.
    RESTRICTIVENESS: dict[str, int] = {"denied": 0, "unknown": 1, "granted": 2}

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    source = models.CharField(max_length=120, blank=True)  # "shopify:checkout", "import", …
    changed_at = models.DateTimeField()
    proof = models.JSONField(default=dict, blank=True)  # IP, user agent, form, raw flag …

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "channel"], name="consent_one_per_channel")
        ]
        indexes = [models.Index(fields=["channel", "status"], name="consent_channel_status")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.status}"


class Note(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["contact", "-created_at"], name="note_contact")]

    def __str__(self) -> str:
        return self.body[:40]


class ContactMerge(models.Model):
    """A merge, kept on the surviving contact: who was merged, why, and what it held."""

    survivor = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merges")
    merged_id = models.BigIntegerField()
    snapshot = models.JSONField(default=dict)  # the merged contact's fields before the merge
    reason = models.CharField(max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["survivor", "-created_at"], name="merge_survivor")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_id=models.F("survivor")), name="merge_not_self"
            )
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"
