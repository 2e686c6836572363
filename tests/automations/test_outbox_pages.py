"""The outbox pages: the deliveries list (filters, counts by status, keyset pages, the note
when no provider is configured), one message with its HTML in a sandbox, cancelling and
sending again exactly once, the sending policy with its edit conflicts, and the
suppression list; who may open which."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations import selectors
from automations.limiter import policy
from automations.models import Delivery, SendingPolicy, Suppression
from automations.services import outbox
from automations.services.deliveries import suppression_add
from automations.services.sending import delivery_send
from growth.roles import Role
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2025, 6, 10, 10, tzinfo=UTC)
_keys = itertools.count(1)


def make(**fields) -> Delivery:  # type: ignore[no-untyped-def]
    values = {
        "key": f"run-{next(_keys)}:node-1",
        "channel": "email",
        "purpose": "marketing",
        "origin": "journey",
        "status": Delivery.Status.SCHEDULED,
        "scheduled_for": WHEN,
        "due_at": WHEN,
        "to_address": "anna@example.com",
        "subject": "Your cart",
        "body_text": "Still thinking?",
        "body_html": "<p>Still thinking?</p>",
        **fields,
    }
    return Delivery.objects.create(**values)


@pytest.fixture
def marketer(client_as):  # type: ignore[no-untyped-def]
    return client_as(Role.MARKETER)


@pytest.fixture
def no_providers(settings):  # type: ignore[no-untyped-def]
    settings.SENDGRID_API_KEY = ""
    settings.TWILIO_ACCOUNT_SID = ""


def listed(answer) -> list[str]:  # type: ignore[no-untyped-def]
    """The keys of the listed deliveries, in page order."""
    return [row.delivery.key for row in answer.context["rows"]]


# --- The list ---------------------------------------------------------------------------------


def test_the_list_is_newest_first_and_filters_by_status_channel_purpose_origin_and_address(
    marketer,
):
    anna = ContactFactory(first_name="Anna", last_name="Berg", email="anna@example.com")
    sent = make(key="a", contact=anna, status=Delivery.Status.SENT, sent_at=WHEN)
    sms = make(key="b", channel="sms", to_address="+4915112345678", subject="", body_html="")
    test = make(key="c", origin="test", purpose="transactional", to_address="me@shop.example")
    failed = make(key="d", status=Delivery.Status.FAILED, reason="The provider refused it.")

    page = marketer.get("/deliveries/")
    assert page.status_code == 200
    assert listed(page) == ["d", "c", "b", "a"]
    html = page.content.decode()
    assert "The provider refused it." in html  # why it failed, on the list
    assert f'href="/contacts/{anna.pk}/"' in html and "Anna Berg" in html
    assert "Still thinking?" in html  # an SMS without a subject shows its text

    assert listed(marketer.get("/deliveries/?status=failed")) == [failed.key]
    assert listed(marketer.get("/deliveries/?channel=sms")) == [sms.key]
    assert listed(marketer.get("/deliveries/?purpose=transactional")) == [test.key]
    assert listed(marketer.get("/deliveries/?origin=test")) == [test.key]
    assert listed(marketer.get("/deliveries/?q=ANNA@")) == [failed.key, sent.key]
    assert listed(marketer.get("/deliveries/?q=%2B49 151")) == [sms.key]
    assert listed(marketer.get("/deliveries/?status=sent&q=anna")) == [sent.key]

    nothing = marketer.get("/deliveries/?status=bounced")
    assert listed(nothing) == [] and 'data-testid="empty"' in nothing.content.decode()
    # A filter that makes no sense is named and left out, not a crash.
    odd = marketer.get("/deliveries/?status=nonsense")
    assert odd.status_code == 200 and len(listed(odd)) == 4
    assert "left out" in odd.content.decode()


def test_counts_per_status_match_the_other_filters_in_one_grouped_query(marketer):
    for _ in range(3):
        make()
    make(status=Delivery.Status.FAILED)
    make(status=Delivery.Status.SENT, channel="sms", to_address="+4915100000000")

    counts = selectors.delivery_status_counts(filters=selectors.DeliveryFilters())
    assert counts.counts == {"scheduled": 3, "failed": 1, "sent": 1}
    assert counts.total == 5
    # The status filter picks a tab; the counts keep showing every status of the rest.
    email = selectors.delivery_status_counts(
        filters=selectors.DeliveryFilters(status="failed", channel="email")
    )
    assert email.counts == {"scheduled": 3, "failed": 1}

    with CaptureQueriesContext(connection) as queries:
        selectors.delivery_status_counts(filters=selectors.DeliveryFilters())
    assert len(queries) == 1 and "GROUP BY" in queries[0]["sql"]

    html = marketer.get("/deliveries/?status=failed").content.decode()
    assert 'data-testid="count-all">5<' in html
    assert 'data-testid="count-scheduled">3<' in html
    assert 'data-testid="count-failed">1<' in html


def test_counts_read_only_the_newest_window(marketer, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_WINDOW", 3)
    make(status=Delivery.Status.FAILED)  # the oldest: outside the window
    for _ in range(3):
        make()
    counts = selectors.delivery_status_counts(filters=selectors.DeliveryFilters())
    assert (counts.counts, counts.capped) == ({"scheduled": 3}, True)
    assert 'data-testid="counts-capped"' in marketer.get("/deliveries/").content.decode()


def test_pages_follow_the_cursor_without_repeats_or_gaps(marketer):
    rows = [make() for _ in range(5)]
    first = selectors.delivery_page(filters=selectors.DeliveryFilters(), size=2)
    assert [d.pk for d in first.deliveries] == [rows[4].pk, rows[3].pk]
    make()  # arrives meanwhile: not on the next pages
    second = selectors.delivery_page(
        filters=selectors.DeliveryFilters(), after=first.next_cursor or "", size=2
    )
    assert [d.pk for d in second.deliveries] == [rows[2].pk, rows[1].pk]
    third = selectors.delivery_page(
        filters=selectors.DeliveryFilters(), after=second.next_cursor or "", size=2
    )
    assert [d.pk for d in third.deliveries] == [rows[0].pk] and third.next_cursor is None
    # Through the page: a cursor that is not a number is the first page.
    assert marketer.get("/deliveries/?after=x").status_code == 200
    assert listed(marketer.get(f"/deliveries/?after={rows[1].pk}")) == [rows[0].key]


def test_the_list_says_messages_stay_here_without_a_provider(marketer, no_providers, settings):
    make()
    html = marketer.get("/deliveries/").content.decode()
    assert 'data-testid="outbox-note"' in html
    assert "no provider configured: messages are kept here" in html.lower()
    settings.SENDGRID_API_KEY = "SG.x"
    settings.TWILIO_ACCOUNT_SID = "AC1"
    assert 'data-testid="outbox-note"' not in marketer.get("/deliveries/").content.decode()


def test_an_empty_outbox_says_where_messages_come_from(marketer):
    html = marketer.get("/deliveries/").content.decode()
    assert 'data-testid="empty"' in html and "send yourself a test" in html


def test_the_list_costs_the_same_queries_for_3_and_30_deliveries(marketer):
    contacts = [ContactFactory() for _ in range(3)]

    def queries_for_page() -> int:
        marketer.get("/deliveries/")  # warm the session and permission caches alike
        with CaptureQueriesContext(connection) as captured:
            assert marketer.get("/deliveries/?channel=email").status_code == 200
        return len(captured)

    for i in range(3):
        make(contact=contacts[i % 3], status=Delivery.Status.SENT, sent_at=WHEN)
    few = queries_for_page()
    for i in range(27):
        make(contact=contacts[i % 3] if i % 2 else None)
    many = queries_for_page()
    assert few == many, (few, many)
    assert few <= 7  # session, user, permissions (2), roles in the header; the page, counts


# --- One message --------------------------------------------------------------------------------


def test_the_detail_shows_everything_and_the_html_in_a_sandbox(marketer, no_providers):
    anna = ContactFactory(first_name="Anna", last_name="Berg")
    delivery = make(
        contact=anna,
        status=Delivery.Status.SENT,
        sent_at=WHEN,
        outbox=True,
        provider_message_id="<abc@growth>",
        body_html="<p>Hi Anna</p><script>alert(1)</script>",
        deferrals=2,
        reason="",
    )
    page = marketer.get(f"/deliveries/{delivery.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    for seen in (delivery.key, "Your cart", "Still thinking?", "&lt;abc@growth&gt;", "Anna Berg"):
        assert seen in html
    assert f'src="/deliveries/{delivery.pk}/html/"' in html and "sandbox" in html
    assert 'data-testid="outbox-note"' in html
    assert 'data-testid="cancel"' not in html and 'data-testid="resend"' not in html

    frame = marketer.get(f"/deliveries/{delivery.pk}/html/")
    assert frame.status_code == 200
    assert frame["Content-Security-Policy"] == (
        "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'"
    )
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert b"<p>Hi Anna</p>" in frame.content  # as sent; the sandbox keeps the script inert

    assert marketer.get("/deliveries/999999/").status_code == 404


# --- Cancel ---------------------------------------------------------------------------------------


def test_cancel_stops_a_scheduled_or_queued_message_exactly_once(marketer, user_with_role):
    user = user_with_role(Role.MARKETER, first_name="Mia", last_name="Marketer")
    scheduled = make()
    queued = make(status=Delivery.Status.QUEUED)

    done = outbox.delivery_cancel(delivery_id=scheduled.pk, actor=user)
    assert (done.status, done.reason) == ("cancelled", "Cancelled by Mia Marketer.")
    with pytest.raises(ValidationError, match="cancelled already"):
        outbox.delivery_cancel(delivery_id=scheduled.pk, actor=user)

    outbox.delivery_cancel(delivery_id=queued.pk)
    # The send task already on its way finds it cancelled and sends nothing.
    assert delivery_send(delivery_id=queued.pk, now=WHEN) is None
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.sent_at) == ("cancelled", 0, None)


def test_a_message_that_went_out_cannot_be_cancelled(marketer):
    sent = make(status=Delivery.Status.SENT, sent_at=WHEN)
    answer = marketer.post(f"/deliveries/{sent.pk}/cancel/", follow=True)
    assert "only a scheduled or queued one can be cancelled" in answer.content.decode()
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_the_cancel_button_cancels(marketer):
    delivery = make()
    page = marketer.get(f"/deliveries/{delivery.pk}/").content.decode()
    assert 'data-testid="cancel"' in page
    answer = marketer.post(f"/deliveries/{delivery.pk}/cancel/")
    assert answer.status_code == 302 and answer["Location"] == f"/deliveries/{delivery.pk}/"
    delivery.refresh_from_db()
    assert delivery.status == "cancelled"
    assert marketer.get(f"/deliveries/{delivery.pk}/cancel/").status_code == 405


# --- Send again -----------------------------------------------------------------------------------


def test_send_again_copies_a_failed_message_due_now_exactly_once():
    anna = ContactFactory()
    failed = make(
        key="run-7:node-2",
        contact=anna,
        status=Delivery.Status.FAILED,
        reason="No answer from the provider",
        attempts=1,
        priority=5,
        tags=["cart"],
    )
    before = timezone.now()
    copy, made = outbox.delivery_resend(delivery_id=failed.pk)
    assert made
    assert copy.key == "run-7:node-2:resend:1"
    assert copy.status == "scheduled" and copy.due_at >= before and copy.attempts == 0
    assert (copy.contact, copy.to_address, copy.subject, copy.body_html, copy.priority) == (
        anna,
        failed.to_address,
        failed.subject,
        failed.body_html,
        5,
    )
    assert copy.tags == ["cart"] and copy.reason == ""

    again, made_again = outbox.delivery_resend(delivery_id=failed.pk)  # a double click
    assert (again.pk, made_again) == (copy.pk, False)
    assert Delivery.objects.count() == 2

    # The copy failing too: its copy is the second resend of the first message.
    Delivery.objects.filter(pk=copy.pk).update(status=Delivery.Status.FAILED)
    second, _made = outbox.delivery_resend(delivery_id=copy.pk)
    assert second.key == "run-7:node-2:resend:2"

    links = selectors.delivery_resends(delivery=copy)
    assert (links.original, links.copy) == (failed, second)


def test_only_a_failed_message_is_sent_again():
    with pytest.raises(ValidationError, match="only a failed one"):
        outbox.delivery_resend(delivery_id=make(status=Delivery.Status.SENT).pk)
    assert Delivery.objects.count() == 1


def test_the_send_again_button_opens_the_copy(marketer):
    failed = make(status=Delivery.Status.FAILED, reason="Refused")
    assert 'data-testid="resend"' in marketer.get(f"/deliveries/{failed.pk}/").content.decode()
    answer = marketer.post(f"/deliveries/{failed.pk}/resend/")
    copy = Delivery.objects.get(key=f"{failed.key}:resend:1")
    assert answer.status_code == 302 and answer["Location"] == f"/deliveries/{copy.pk}/"
    original = marketer.get(f"/deliveries/{failed.pk}/").content.decode()
    assert 'data-testid="resend"' not in original and 'data-testid="resent-as"' in original
    assert 'data-testid="resend-of"' in marketer.get(answer["Location"]).content.decode()
    marketer.post(f"/deliveries/{failed.pk}/resend/")
    assert Delivery.objects.count() == 2


# --- Sending policy --------------------------------------------------------------------------------


def policy_data(**changes) -> dict[str, object]:  # type: ignore[no-untyped-def]
    current = policy()
    return {
        "allowed_from": "08:00",
        "allowed_until": "21:00",
        "default_time_zone": "Europe/Berlin",
        "email_per_day": 2,
        "email_per_week": 5,
        "sms_per_day": 1,
        "sms_per_week": 2,
        "version": current.version,
        **changes,
    }


def test_the_policy_is_saved_and_explained(marketer):
    page = marketer.get("/deliveries/policy/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "own clock" in html and "Europe/Berlin" in html  # help, time zones

    answer = marketer.post("/deliveries/policy/", policy_data(allowed_from="09:30"))
    assert answer.status_code == 302
    saved = SendingPolicy.objects.get(pk=1)
    assert (saved.allowed_from, saved.default_time_zone, saved.email_per_day, saved.version) == (
        time(9, 30),
        "Europe/Berlin",
        2,
        2,
    )


def test_the_second_editor_gets_a_conflict_not_a_silent_overwrite(marketer):
    read_by_both = policy_data()
    assert (
        marketer.post("/deliveries/policy/", {**read_by_both, "email_per_day": 3}).status_code
        == 302
    )
    late = marketer.post("/deliveries/policy/", {**read_by_both, "email_per_day": 4})
    assert late.status_code == 409
    html = late.content.decode()
    assert "saved the sending policy while you were editing it" in html
    assert 'data-testid="conflict"' in html
    assert SendingPolicy.objects.get(pk=1).email_per_day == 3
    # The form now carries the saved version: saving again, knowingly, wins.
    assert late.context["form"]["version"].value() == "2"
    again = marketer.post("/deliveries/policy/", {**read_by_both, "email_per_day": 4, "version": 2})
    assert again.status_code == 302 and SendingPolicy.objects.get(pk=1).email_per_day == 4


def test_a_time_zone_that_does_not_exist_is_refused_next_to_its_field(marketer):
    answer = marketer.post("/deliveries/policy/", policy_data(default_time_zone="Europe/Berlinn"))
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'data-testid="error-default_time_zone"' in html
    assert "“Europe/Berlinn” is not a time zone" in html
    assert SendingPolicy.objects.get(pk=1).version == 1


def test_an_empty_window_and_a_week_below_the_day_are_refused(marketer):
    answer = marketer.post(
        "/deliveries/policy/",
        policy_data(allowed_from="08:00", allowed_until="08:00", sms_per_day=3, sms_per_week=2),
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert (
        'data-testid="error-allowed_until"' in html and 'data-testid="error-sms_per_week"' in html
    )
    with pytest.raises(outbox.EditConflict):
        outbox.sending_policy_update(**{**policy_data(), "version": 99})


# --- Suppressions ----------------------------------------------------------------------------------


def test_an_address_is_blocked_by_hand_found_and_lifted_after_asking(marketer):
    suppression_add(channel="email", address="bounced@example.com", reason="hard_bounce")
    answer = marketer.post(
        "/deliveries/suppressions/",
        {"channel": "email", "address": " Angry@Example.com ", "detail": "asked by phone"},
    )
    assert answer.status_code == 302
    row = Suppression.objects.get(address="angry@example.com")
    assert (row.channel, row.reason, row.detail) == ("email", "manual", "asked by phone")

    again = marketer.post(
        "/deliveries/suppressions/",
        {"channel": "email", "address": "angry@example.com"},
        follow=True,
    )
    assert "suppressed already" in again.content.decode()
    assert Suppression.objects.count() == 2

    found = marketer.get("/deliveries/suppressions/?q=ANGRY")
    assert [s.address for s in found.context["page"].suppressions] == ["angry@example.com"]
    everyone = marketer.get("/deliveries/suppressions/").context["page"].suppressions
    assert [s.address for s in everyone] == ["angry@example.com", "bounced@example.com"]

    ask = marketer.get(f"/deliveries/suppressions/{row.pk}/remove/")
    assert ask.status_code == 200 and 'data-testid="remove-confirm"' in ask.content.decode()
    assert Suppression.objects.filter(pk=row.pk).exists()  # asking removes nothing
    assert marketer.post(f"/deliveries/suppressions/{row.pk}/remove/").status_code == 302
    assert not Suppression.objects.filter(pk=row.pk).exists()
    twice = marketer.post(f"/deliveries/suppressions/{row.pk}/remove/", follow=True)
    assert "was not suppressed" in twice.content.decode()
    assert outbox.suppression_remove(suppression_id=row.pk) is None


def test_a_bad_address_is_refused_next_to_the_field(marketer):
    answer = marketer.post("/deliveries/suppressions/", {"channel": "email", "address": "nope"})
    assert answer.status_code == 400
    assert 'data-testid="error-address"' in answer.content.decode()
    phone = marketer.post("/deliveries/suppressions/", {"channel": "sms", "address": "0151 123"})
    assert phone.status_code == 400
    ok = marketer.post(
        "/deliveries/suppressions/", {"channel": "sms", "address": "+49 151 1234 5678"}
    )
    assert ok.status_code == 302
    assert Suppression.objects.get().address == "+4915112345678"
    assert not Suppression.objects.filter(address="nope").exists()


def test_an_empty_suppression_list_says_how_addresses_arrive(marketer):
    html = marketer.get("/deliveries/suppressions/").content.decode()
    assert 'data-testid="empty"' in html and "hard bounce" in html


# --- Who may open what -------------------------------------------------------------------------------


def test_a_rep_and_a_manager_may_open_none_of_it(client_as):
    delivery = make(status=Delivery.Status.FAILED)
    row = suppression_add(channel="email", address="x@example.com", reason="manual")
    for role in (Role.REP, Role.MANAGER, Role.SALES_MANAGER):
        client = client_as(role)
        for url in (
            "/deliveries/",
            f"/deliveries/{delivery.pk}/",
            f"/deliveries/{delivery.pk}/html/",
            "/deliveries/policy/",
            "/deliveries/suppressions/",
        ):
            answer = client.get(url)
            assert answer.status_code == 403, (role, url)
        assert "Marketer" in client.get("/deliveries/").content.decode()  # whom to ask
        assert client.post(f"/deliveries/{delivery.pk}/resend/").status_code == 403
        assert client.post(f"/deliveries/suppressions/{row.pk}/remove/").status_code == 403
    assert Delivery.objects.count() == 1 and Suppression.objects.count() == 1


def test_signed_out_people_are_sent_to_sign_in(client):
    answer = client.get("/deliveries/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_marketers_open_every_page(marketer):
    delivery = make()
    for url in (
        "/deliveries/",
        f"/deliveries/{delivery.pk}/",
        "/deliveries/policy/",
        "/deliveries/suppressions/",
    ):
        assert marketer.get(url).status_code == 200, url


def test_either_capability_opens_the_outbox_but_only_journeys_the_policy(user_with_role, client):
    from django.contrib.auth.models import Permission

    user = user_with_role()
    user.user_permissions.add(Permission.objects.get(codename="manage_templates"))
    client.force_login(user)
    assert client.get("/deliveries/").status_code == 200
    assert client.get("/deliveries/policy/").status_code == 403
    user.user_permissions.set([Permission.objects.get(codename="manage_journeys")])
    client.force_login(user)
    assert client.get("/deliveries/").status_code == 200
    assert client.get("/deliveries/policy/").status_code == 200


def test_a_held_back_message_says_when_it_was_meant_to_go(marketer):
    make(due_at=WHEN - timedelta(days=400), scheduled_for=WHEN - timedelta(days=401), deferrals=1)
    assert "held back once" in marketer.get("/deliveries/").content.decode()
