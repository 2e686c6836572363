"""Identity stitching and merges: one record per person, nothing lost."""

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.models import Consent, Contact, ContactMerge, Event, Identity, Note, Order
from leads.services.identity import contact_merge, contact_resolve, normalise
from tests.leads.factories import (
    ConsentFactory,
    ContactFactory,
    EventFactory,
    IdentityFactory,
    OrderFactory,
)

pytestmark = pytest.mark.django_db


def test_resolve_creates_then_finds():
    first = contact_resolve(keys=[("email", "A@x.com"), ("anonymous_id", "b1")])
    again = contact_resolve(keys=[("email", "a@x.com")])
    assert first.pk == again.pk
    assert Contact.objects.count() == 1


def test_resolve_without_identity_is_refused():
    with pytest.raises(ValueError, match="no identity"):
        contact_resolve(keys=[("email", ""), ("user_id", None)])


def test_two_known_contacts_meeting_merge_and_lose_nothing():
    old = ContactFactory(email="old@example.com", first_name="", company="Acme")
    new = ContactFactory(email="", first_name="Zoe")
    IdentityFactory(contact=old, kind="email", value="old@example.com")
    IdentityFactory(contact=new, kind="user_id", value="u-1")
    IdentityFactory(contact=new, kind="phone", value="+15550001")
    EventFactory.create_batch(3, contact=new)
    EventFactory.create_batch(2, contact=old)
    OrderFactory(contact=new)
    Note.objects.create(contact=new, body="called, interested")
    now = datetime.now(UTC)
    ConsentFactory(contact=old, channel="email", status="granted", changed_at=now)
    ConsentFactory(
        contact=new, channel="email", status="denied", changed_at=now - timedelta(days=3)
    )
    ConsentFactory(contact=new, channel="sms", status="granted", changed_at=now)

    survivor = contact_resolve(keys=[("email", "old@example.com"), ("user_id", "u-1")])

    assert survivor.pk == new.pk  # two known identities beat one
    assert Contact.objects.filter(merged_into__isnull=True).count() == 1
    assert Event.objects.filter(contact=survivor).count() == 5
    assert Order.objects.get().contact_id == survivor.pk
    assert Note.objects.get().contact_id == survivor.pk
    assert set(Identity.objects.filter(contact=survivor).values_list("kind", flat=True)) == {
        "email",
        "user_id",
        "phone",
    }
    consents = dict(Consent.objects.filter(contact=survivor).values_list("channel", "status"))
    assert consents == {"email": "denied", "sms": "granted"}  # the most restrictive wins
    survivor.refresh_from_db()
    assert (survivor.first_name, survivor.email, survivor.company) == (
        "Zoe",
        "old@example.com",
        "Acme",
    )
    merge = ContactMerge.objects.get()
    assert merge.merged_id == old.pk and "email" in merge.reason
    assert merge.snapshot["email"] == "old@example.com"
    assert Contact.objects.get(pk=old.pk).merged_into_id == survivor.pk


def test_merge_sends_the_domain_signal(django_capture_on_commit_callbacks):
    from leads import signals

    a, b = ContactFactory(), ContactFactory()
    seen = []

    def receiver(sender, survivor_id, merged_id, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((survivor_id, merged_id))

    signals.contacts_merged.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            contact_merge(survivor=a, merged=b, reason="manual")
    finally:
        signals.contacts_merged.disconnect(receiver)
    assert seen == [(a.pk, b.pk)]


def test_merging_into_itself_is_refused():
    contact = ContactFactory()
    with pytest.raises(ValueError):
        contact_merge(survivor=contact, merged=contact, reason="x")


def test_earlier_merges_follow_the_survivor():
    a, b, c = ContactFactory(), ContactFactory(), ContactFactory()
    contact_merge(survivor=b, merged=c, reason="first")
    contact_merge(survivor=a, merged=b, reason="second")
    assert ContactMerge.objects.filter(survivor=a).count() == 2
    assert Contact.objects.get(pk=c.pk).merged_into_id == a.pk


@given(st.text(alphabet=string.ascii_letters + string.digits + "._+-", min_size=1, max_size=20))
@settings(max_examples=50, deadline=None)
def test_email_normalisation_is_idempotent_and_case_blind(local):
    email = f"  {local}@Example.COM "
    once = normalise("email", email)
    assert once == normalise("email", once) == once.lower() == once.strip()


@given(st.text(alphabet="0123456789 ()-+.", min_size=1, max_size=25))
@settings(max_examples=50, deadline=None)
def test_phone_normalisation_keeps_only_digits_and_leading_plus(raw):
    value = normalise("phone", raw)
    assert value.lstrip("+").isdigit() or value in ("", "+")
    assert normalise("phone", value) == value
