"""Contact list (search, filters, keyset pages, CSV) and contact page (record, timeline,
notes), with their query counts and who may open them."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from growth.roles import Role
from leads import selectors
from leads.models import Contact, ContactMerge, Event, Note, Order, Refund, Session
from leads.models.contacts import SEARCH_TEXT
from leads.selectors import SearchSample, SearchText, TimelineCursor, contact_timeline
from tests.leads.factories import (
    ConsentFactory,
    ContactFactory,
    EventFactory,
    IdentityFactory,
    OrderFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def listed(client, **params) -> list[int]:  # type: ignore[no-untyped-def]
    response = client.get(reverse("contacts"), params)
    assert response.status_code == 200
    return [c.pk for c in response.context["page"].contacts]


def walk(client, **params) -> tuple[list[int], int]:  # type: ignore[no-untyped-def]
    """Follow "Next" to the end: every id seen, in order, and the number of pages."""
    ids: list[int] = []
    pages = 0
    after = ""
    while True:
        response = client.get(
            reverse("contacts"), {**params, **({"after": after} if after else {})}
        )
        page = response.context["page"]
        ids += [c.pk for c in page.contacts]
        pages += 1
        if not page.next_cursor:
            return ids, pages
        assert f"after={page.next_cursor}" in response.content.decode()  # the "Next" link
        after = page.next_cursor


# --- List: search and filters ---------------------------------------------------------------


def test_search_by_name_email_and_phone(client_as):
    client = client_as(Role.MARKETER)
    ada = ContactFactory(
        first_name="Ada", last_name="Lovelace", email="Ada@Engines.example", phone="+441234567890"
    )
    grace = ContactFactory(
        first_name="Grace", last_name="Hopper", email="grace@navy.example", phone="+15550001111"
    )

    assert listed(client, q="ada") == [ada.pk]
    assert listed(client, q="LOVELACE") == [ada.pk]
    assert listed(client, q="grace hop") == [grace.pk]  # words across first and last name
    assert listed(client, q="ada@engines.example") == [ada.pk]  # the whole address, any case
    assert listed(client, q="Grace@Na") == [grace.pk]  # a prefix of the address
    assert listed(client, q="engines.example@") == []  # not a prefix
    assert listed(client, q="(555) 000-1111") == [grace.pk]  # formatted as people type it
    assert listed(client, q="+44 1234") == [ada.pk]
    assert listed(client, q="nobody") == []


def _sample_of(texts: list[str]) -> SearchSample:
    """Search statistics as ANALYZE would keep them for a table made of `texts`."""
    return SearchSample.from_stats([], [], texts)


@pytest.fixture
def big_table_sample(monkeypatch):  # type: ignore[no-untyped-def]
    """Statistics of a large shop where everyone is called Last-something: "las", "ast" and
    "st1" are in every sampled contact (dense), "lovelace" and "last1234" in none (rare)."""
    texts = [f"first{i} last1{i:03d} person{i}@example.com +1555{i:07d}" for i in range(1000)]
    sample = _sample_of(texts)
    monkeypatch.setattr(selectors, "_sample", (time.monotonic(), sample))
    return sample


def test_search_plans_from_the_sample(big_table_sample):
    sample = big_table_sample
    assert {"las", "ast", "st1", "exa", "com"} <= sample.dense
    assert sample.is_rare("lovelace") and sample.is_rare("last2345")
    assert not sample.is_rare("last1") and not sample.is_rare("example")
    # Looked up by its rare part only; the whole word is tested on what that finds.
    assert sample.index_parts("last2345") == ["t2345"]
    assert sample.index_parts("lovelace") == ["lovelace"]  # no dense trigram: as it is
    assert sample.index_parts("last1") == ["last1"]  # nothing rare to look up by
    assert _sample_of([]).is_rare("anything") is False  # no statistics: no opinion


def test_search_finds_the_same_rows_whatever_the_plan(client_as, big_table_sample):
    client = client_as(Role.MARKETER)
    ada = ContactFactory(first_name="Ada", last_name="Last2345", phone="+441234567890")
    ContactFactory(first_name="Ada", last_name="Last2346")
    grace = ContactFactory(first_name="Grace", last_name="Last1999", email="g@navy.example")
    with CaptureQueriesContext(connection) as queries:
        assert listed(client, q="last2345") == [ada.pk]  # rare, by its part "t2345"
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "enable_indexscan = off" in sql and "STRPOS" in sql.upper()
    assert listed(client, q="example last2345") == [ada.pk]  # "example" common: tested only
    assert listed(client, q="ada last2345") == [ada.pk]
    assert set(listed(client, q="last")) == {ada.pk, grace.pk, ada.pk + 1}  # common
    assert listed(client, q="t2345 ada") == [ada.pk]
    assert listed(client, q="+44 1234") == [ada.pk]
    assert listed(client, q="zzzlast2345") == []
    assert listed(client, q="G@NAVY") == [grace.pk]  # e-mail: prefix of the address


def test_search_text_is_the_indexed_expression():
    """The search writes SEARCH_TEXT out by hand (SearchText): the SQL must stay the very
    expression the trigram index was built on, or the index stops answering."""
    indexed = Contact.objects.alias(s=SEARCH_TEXT).filter(s__contains="x").query
    written = Contact.objects.alias(s=SearchText()).filter(s__contains="x").query
    assert indexed.sql_with_params() == written.sql_with_params()


def test_each_filter(client_as):
    client = client_as(Role.MARKETER)
    a = ContactFactory(lifecycle_stage="mql", source_channel="google / cpc", country="DE")
    b = ContactFactory(lifecycle_stage="customer", source_channel="direct", country="US")
    c = ContactFactory(lifecycle_stage="customer", source_channel="direct", country="US")
    ConsentFactory(contact=a, status="granted")
    ConsentFactory(contact=b, status="denied")
    ConsentFactory(contact=c, channel="sms", status="granted")  # no e-mail statement: unknown
    Contact.objects.filter(pk=a.pk).update(created_at=T0 - timedelta(days=10), last_seen_at=T0)
    Contact.objects.filter(pk=b.pk).update(created_at=T0, last_seen_at=T0 - timedelta(days=5))
    Contact.objects.filter(pk=c.pk).update(created_at=T0 + timedelta(days=3), last_seen_at=None)

    assert listed(client, stage="mql") == [a.pk]
    assert set(listed(client, stage="customer")) == {b.pk, c.pk}
    assert listed(client, source="google / cpc") == [a.pk]
    assert listed(client, country="de") == [a.pk]
    assert listed(client, email_consent="granted") == [a.pk]
    assert listed(client, email_consent="denied") == [b.pk]
    assert listed(client, email_consent="unknown") == [c.pk]
    assert listed(client, created_from="2026-03-01", created_to="2026-03-01") == [b.pk]
    assert set(listed(client, created_from="2026-03-01")) == {b.pk, c.pk}
    assert listed(client, created_to="2026-02-28") == [a.pk]
    assert listed(client, seen_from="2026-02-26", seen_to="2026-02-28") == []
    assert listed(client, seen_from="2026-02-24", seen_to="2026-02-28") == [b.pk]
    assert listed(client, seen_from="2026-03-01") == [a.pk]
    assert listed(client, stage="customer", country="US", email_consent="denied") == [b.pk]


def test_bad_filter_is_reported_and_left_out(client_as):
    contact = ContactFactory()
    response = client_as(Role.MARKETER).get(reverse("contacts"), {"created_from": "yesterday"})
    assert response.status_code == 200
    assert "Some filters were not understood" in response.content.decode()
    assert [c.pk for c in response.context["page"].contacts] == [contact.pk]


def test_merged_and_erased_contacts_are_not_listed(client_as):
    live = ContactFactory()
    ContactFactory(merged_into=live)
    ContactFactory(erased_at=T0)
    assert listed(client_as(Role.MARKETER)) == [live.pk]


def test_empty_states(client_as):
    client = client_as(Role.MARKETER)
    body = client.get(reverse("contacts")).content.decode()
    assert "No contacts yet — contacts arrive when your shop sends tracking events" in body
    ContactFactory(first_name="Ada")
    body = client.get(reverse("contacts"), {"q": "zzz"}).content.decode()
    assert "No contact matches these filters." in body


# --- List: sorting and keyset pages ---------------------------------------------------------


@pytest.fixture
def many_contacts(db) -> list[Contact]:  # type: ignore[no-untyped-def]
    """130 contacts with tied sort values and never-seen ones, to stress page boundaries."""
    contacts = ContactFactory.create_batch(130)
    for i, contact in enumerate(contacts):
        Contact.objects.filter(pk=contact.pk).update(
            created_at=T0 - timedelta(minutes=i // 3),  # three at each instant
            last_seen_at=None if i % 4 == 0 else T0 - timedelta(hours=i % 7),
            score=i % 5,
        )
    return list(Contact.objects.all())


def _expected(contacts: list[Contact], field: str, descending: bool) -> list[int]:
    present = [c for c in contacts if getattr(c, field) is not None]
    missing = [c for c in contacts if getattr(c, field) is None]
    present.sort(key=lambda c: (getattr(c, field), c.pk), reverse=descending)
    missing.sort(key=lambda c: c.pk, reverse=descending)
    return [c.pk for c in present + missing]  # never seen: last, either way


@pytest.mark.parametrize(
    ("sort", "field"),
    [("created", "created_at"), ("last_seen", "last_seen_at"), ("score", "score")],
)
@pytest.mark.parametrize("descending", [True, False])
def test_each_sort_pages_without_duplicates_or_gaps(
    client_as, many_contacts, sort, field, descending
):
    ids, pages = walk(client_as(Role.MARKETER), sort=("-" if descending else "") + sort)
    assert pages == 3  # 50 + 50 + 30
    assert len(ids) == len(set(ids)) == 130
    assert ids == _expected(many_contacts, field, descending)


def test_pages_keep_the_filters(client_as, many_contacts):
    Contact.objects.filter(score=0).update(country="FR")  # 26 contacts
    ids, pages = walk(client_as(Role.MARKETER), country="FR", sort="score")
    assert pages == 1 and len(ids) == 26
    Contact.objects.filter(score__in=[1, 2, 3]).update(country="FR")
    ids, pages = walk(client_as(Role.MARKETER), country="FR", sort="-last_seen")
    assert pages == 3 and len(set(ids)) == 104


def test_a_tampered_cursor_starts_over(client_as, many_contacts):
    response = client_as(Role.MARKETER).get(reverse("contacts"), {"after": "not-a-cursor"})
    assert response.status_code == 200
    assert len(response.context["page"].contacts) == 50


def test_list_query_count_does_not_grow(client_as, many_contacts, django_assert_max_num_queries):
    client = client_as(Role.MARKETER)
    second_page = {"sort": "-last_seen", "after": walk_one(client, sort="-last_seen")}
    filtered = {"q": "example", "email_consent": "unknown", "stage": "subscriber", "sort": "score"}
    # 4 for session, user and permissions, 1 for the page; 1 more when a page runs on from
    # seen into never-seen contacts (page 2 here).
    for params in ({}, filtered, second_page):
        with django_assert_max_num_queries(7):
            response = client.get(reverse("contacts"), params)
        assert len(response.context["page"].contacts) == 50


def walk_one(client, **params) -> str:  # type: ignore[no-untyped-def]
    return client.get(reverse("contacts"), params).context["page"].next_cursor


# --- CSV export -----------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_streams_every_filtered_row(client_as, many_contacts):
    Contact.objects.filter(score=4).update(country="NL", phone="+31612345678")
    response = client_as(Role.MARKETER).get(
        reverse("contacts_export"), {"country": "NL", "after": "x"}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header[:4] == ["id", "first_name", "last_name", "email"]
    expected = Contact.objects.filter(country="NL").order_by("-created_at", "-id")
    assert [int(r[0]) for r in rows] == [c.pk for c in expected]
    assert len(rows) == 26  # more than a page: the export is not paged
    assert rows[0][header.index("phone")] == "+31612345678"  # numbers are not mangled


def test_export_defuses_spreadsheet_formulas(client_as):
    ContactFactory(first_name='=HYPERLINK("http://evil")', company="@SUM(A1)")
    header, row = _csv(client_as(Role.MARKETER).get(reverse("contacts_export")))
    assert row[header.index("first_name")].startswith("'=")
    assert row[header.index("company")] == "'@SUM(A1)"


# --- Contact page ---------------------------------------------------------------------------


@pytest.fixture
def busy_contact(db) -> Contact:  # type: ignore[no-untyped-def]
    contact = ContactFactory(
        first_name="Ada",
        last_name="Lovelace",
        phone="+441234567890",
        company="Engines Ltd",
        properties={"plan": "gold", "size": 12},
        first_touch={"utm_source": "newsletter"},
        last_touch={"utm_source": "google"},
        source_channel="email",
    )
    IdentityFactory(contact=contact)
    ConsentFactory(contact=contact, channel="sms", status="denied", source="twilio:STOP")
    ContactMerge.objects.create(survivor=contact, merged_id=999_999, reason="same e-mail")
    source = SourceFactory()
    for i in range(30):
        EventFactory(
            contact=contact,
            name=f"Viewed {i}",
            occurred_at=T0 - timedelta(hours=i),
            properties={"url": f"/p/{i}"},
        )
        Session.objects.create(
            contact=contact,
            source=source,
            started_at=T0 - timedelta(hours=i, minutes=30),
            last_activity_at=T0,
            channel="google / cpc",
            page_views=i,
        )
        order = OrderFactory(
            contact=contact,
            order_number=f"#{1000 + i}",
            placed_at=T0 - timedelta(hours=i, minutes=10),
        )
        Refund.objects.create(
            order=order,
            shop_refund_id=str(i),
            amount=Decimal("5.00"),
            refunded_at=T0 - timedelta(hours=i, minutes=5),
        )
        Note.objects.create(contact=contact, body=f"note {i}")
    return contact


def test_contact_page_shows_the_record(client_as, busy_contact):
    response = client_as(Role.MARKETER).get(reverse("contact_detail", args=[busy_contact.pk]))
    body = response.content.decode()
    for text in [
        "Ada Lovelace",
        "+441234567890",
        "Engines Ltd",
        "America/New_York",
        "gold",
        busy_contact.email.lower(),
        "twilio:STOP",
        "newsletter",
        "google",
        "Merged #999999 on",
        "same e-mail",
        "Viewed 0",
        "Order #1000",
        "Refund 5.00 USD",
    ]:
        assert text in body, text
    assert 'data-channel="phone"' in body and "never asked" in body
    assert len(response.context["timeline"].items) == 50
    assert 'data-testid="timeline-more"' in body


def test_timeline_reads_only_the_kinds_on_the_page(django_assert_num_queries):
    contact = ContactFactory()
    EventFactory.create_batch(3, contact=contact)
    with django_assert_num_queries(2):  # one UNION ALL over every kind, then the events
        assert len(contact_timeline(contact=contact).items) == 3


def test_contact_page_query_count_is_constant(
    client_as, busy_contact, django_assert_max_num_queries
):
    client = client_as(Role.MARKETER)
    url = reverse("contact_detail", args=[busy_contact.pk])
    # +2 for the lifecycle: the timeline's stage changes, and the stage panel's "why";
    # +1 for the lead-quality panel's verdicts.
    with django_assert_max_num_queries(17):
        assert client.get(url).status_code == 200
    cursor = contact_timeline(contact=busy_contact, limit=50).next_cursor
    with django_assert_max_num_queries(10):  # +1: the timeline's stage changes
        assert (
            client.get(url, {"before": cursor.encode()}, HTTP_HX_REQUEST="true").status_code == 200
        )


def test_timeline_merges_kinds_newest_first_and_pages_by_cursor(busy_contact):
    contact = busy_contact
    # Ties at one instant across kinds and within a kind, right where pages are cut.
    EventFactory.create_batch(3, contact=contact, name="tied", occurred_at=T0)
    OrderFactory(contact=contact, placed_at=T0)
    whole = contact_timeline(contact=contact, limit=1000).items
    assert len(whole) == 30 * 4 + 4
    assert [i.sort_key for i in whole] == sorted((i.sort_key for i in whole), reverse=True)
    assert {i.kind for i in whole[:4]} == {"events", "orders"} and whole[0].kind == "orders"

    pages, before = [], None
    while True:
        page = contact_timeline(
            contact=contact,
            kinds=("events", "sessions", "orders", "refunds"),
            before=before,
            limit=7,
        )
        pages += page.items
        if not page.next_cursor:
            break
        before = TimelineCursor.decode(page.next_cursor.encode())
    assert [(i.kind, i.obj.pk) for i in pages] == [(i.kind, i.obj.pk) for i in whole]


def test_timeline_kind_filter_and_a_plain_time_bound(busy_contact):
    orders = contact_timeline(contact=busy_contact, kinds=("orders", "refunds"), limit=1000).items
    assert {i.kind for i in orders} == {"orders", "refunds"} and len(orders) == 60
    older = contact_timeline(
        contact=busy_contact, kinds=("events",), before=T0 - timedelta(hours=27)
    )
    assert [i.obj.name for i in older.items] == ["Viewed 28", "Viewed 29"]


def test_load_more_returns_only_the_next_items(client_as, busy_contact):
    client = client_as(Role.MARKETER)
    url = reverse("contact_detail", args=[busy_contact.pk])
    first = client.get(url, {"kind": ["events", "orders"]})
    assert len(first.context["timeline"].items) == 50
    cursor = first.context["timeline"].next_cursor.encode()
    assert "before=" in first.content.decode() and "kind=events" in first.content.decode()
    more = client.get(url, {"kind": ["events", "orders"], "before": cursor}, HTTP_HX_REQUEST="true")
    body = more.content.decode()
    assert "<html" not in body and body.count("<li data-kind=") == 10
    assert "Viewed 29" in body and "Visit" not in body
    assert more["Vary"] and "HX-Request" in more["Vary"]
    # Without htmx the same link opens the whole page from that point.
    assert "<html" in client.get(url, {"before": cursor}).content.decode()


def test_merged_contact_redirects_to_survivor(client_as):
    survivor = ContactFactory()
    tombstone = ContactFactory(merged_into=survivor)
    response = client_as(Role.MARKETER).get(reverse("contact_detail", args=[tombstone.pk]))
    assert response.status_code in (301, 302)
    assert response["Location"] == reverse("contact_detail", args=[survivor.pk])


def test_erased_contact_shows_no_personal_data(client_as):
    contact = ContactFactory(email="gone@example.com", first_name="Gone", erased_at=T0)
    EventFactory(contact=contact, name="Secret Viewed")
    body = (
        client_as(Role.MARKETER).get(reverse("contact_detail", args=[contact.pk])).content.decode()
    )
    assert 'data-testid="erased"' in body
    assert "gone@example.com" not in body and "Gone" not in body and "Secret Viewed" not in body


def test_unknown_contact_is_404(client_as):
    assert (
        client_as(Role.MARKETER).get(reverse("contact_detail", args=[123456789])).status_code == 404
    )


# --- Notes ----------------------------------------------------------------------------------


def test_note_add(client_as):
    contact = ContactFactory()
    client = client_as(Role.SALES_MANAGER)
    response = client.post(
        reverse("contact_note_add", args=[contact.pk]), {"body": "  Called, wants a demo.  "}
    )
    assert response.status_code == 302
    note = Note.objects.get(contact=contact)
    assert note.body == "Called, wants a demo." and note.author is not None
    page = client.get(response["Location"]).content.decode()
    assert "Note added." in page and "Called, wants a demo." in page


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "Write something before adding the note."),
        ("   ", "Write something"),
        ("x" * 5001, "at most 5000 characters"),
    ],
)
def test_note_validation_error_writes_nothing(client_as, body, error):
    contact = ContactFactory()
    response = client_as(Role.MARKETER).post(
        reverse("contact_note_add", args=[contact.pk]), {"body": body}
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Note.objects.exists()


def test_note_on_erased_contact_is_refused(client_as):
    contact = ContactFactory(erased_at=T0)
    response = client_as(Role.MARKETER).post(
        reverse("contact_note_add", args=[contact.pk]), {"body": "hi"}
    )
    assert response.status_code == 400 and not Note.objects.exists()


# --- Permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MARKETER, Role.SALES_MANAGER, Role.MANAGER, Role.ADMIN])
def test_roles_that_see_contacts(client_as, role):
    contact = ContactFactory()
    client = client_as(role)
    assert client.get(reverse("contacts")).status_code == 200
    assert client.get(reverse("contacts_export")).status_code == 200
    assert client.get(reverse("contact_detail", args=[contact.pk])).status_code == 200


def test_rep_is_refused(client_as):
    contact = ContactFactory()
    client = client_as(Role.REP)
    for response in [
        client.get(reverse("contacts")),
        client.get(reverse("contacts_export")),
    ]:
        assert response.status_code == 403
    # A contact that is not one of the rep's leads: as if it did not exist.
    for response in [
        client.get(reverse("contact_detail", args=[contact.pk])),
        client.post(reverse("contact_note_add", args=[contact.pk]), {"body": "hi"}),
    ]:
        assert response.status_code == 404
    assert "This page needs the" in client.get(reverse("contacts")).content.decode()
    assert not Note.objects.exists()


def test_signed_out_goes_to_sign_in(client):
    response = client.get(reverse("contacts_export"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_timeline_ignores_orders_of_other_contacts(busy_contact):
    other = OrderFactory(placed_at=T0 + timedelta(days=1))
    items = contact_timeline(contact=busy_contact, kinds=("orders",), limit=1000).items
    assert other.pk not in {i.obj.pk for i in items}
    assert Order.objects.count() == 31 and Event.objects.count() == 30


def test_a_touch_time_reads_as_a_date_in_the_readers_language(client_as):
    """Touches are stored as JSON with an ISO time; the page writes it like every other date."""
    contact = ContactFactory(
        first_touch={"at": "2026-09-13T05:54:57.960058+00:00", "utm_source": "newsletter"},
        last_touch={"at": "not a time", "utm_source": "ads"},
    )
    client = client_as(Role.MARKETER)
    touches = client.get(f"/contacts/{contact.pk}/").content.decode()
    touches = touches[touches.index('data-testid="touches"') :]
    assert "T05:54:57" not in touches and "2026-09-13 05:54" in touches
    assert "not a time" in touches  # what is not a time is shown as it is
    client.post("/account/language/", {"language": "zh-hans"})
    chinese = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "2026年9月13日 05:54" in chinese
