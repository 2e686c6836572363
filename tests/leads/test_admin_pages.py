"""Admin pages for sources (keys shown once, rotation) and the inbound log (filters,
keyset pages, retry, safe display of raw bodies)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.urls import reverse

from growth.roles import Role
from leads.models import InboundDelivery, Source
from tests.leads.factories import SourceFactory

pytestmark = pytest.mark.django_db

Status = InboundDelivery.Status
NOON = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
_ids = count()


def delivery(source: Source, *, at: datetime = NOON, **fields: object) -> InboundDelivery:
    fields = {"topic": "track", "body": b"{}", **fields}
    row = InboundDelivery.objects.create(source=source, delivery_id=f"d-{next(_ids)}", **fields)
    # received_at is auto_now_add: set the time the test needs afterwards.
    InboundDelivery.objects.filter(pk=row.pk).update(received_at=at)
    row.received_at = at
    return row


def shown(response, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</pre>', response.content.decode(), re.S)
    assert match, f"{testid} not on the page"
    return match.group(1)


# --- Access --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MARKETER, Role.REP, Role.SALES_MANAGER, Role.MANAGER])
def test_every_page_refuses_non_admins(client_as, role):
    source = SourceFactory()
    row = delivery(source, status=Status.FAILED)
    client = client_as(role)
    gets = [
        reverse("sources"),
        reverse("source_create"),
        reverse("source_detail", args=[source.pk]),
        reverse("source_rotate", args=[source.pk]),
        reverse("inbound"),
        reverse("inbound_detail", args=[row.pk]),
    ]
    posts = [
        (reverse("source_create"), {"name": "x", "kind": "tracking"}),
        (reverse("source_rotate", args=[source.pk]), {}),
        (reverse("source_detail", args=[source.pk]), {"name": "x"}),
        (reverse("inbound_retry", args=[row.pk]), {}),
        (reverse("inbound_retry_all"), {}),
    ]
    for url in gets:
        assert client.get(url).status_code == 403, url
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    source.refresh_from_db()
    row.refresh_from_db()
    assert source.name != "x" and source.rotated_at is None and row.status == Status.FAILED
    assert Source.objects.count() == 1


def test_pages_need_sign_in(client):
    response = client.get(reverse("inbound"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- Sources -------------------------------------------------------------------------------


def test_creating_a_tracking_source_shows_its_key_once(client_as):
    client = client_as(Role.ADMIN)
    response = client.post(
        reverse("source_create"),
        {
            "name": "Web shop",
            "kind": "tracking",
            "allowed_origins": "https://shop.example.com, https://SHOP.example.com/\nhttps://www.example.com",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = shown(response, "credential")
    source = Source.objects.get()
    assert source.write_key_hash == Source.hash_key(key)
    assert source.write_key_hint == key[:6] and source.secret == ""
    assert source.allowed_origins == ["https://shop.example.com", "https://www.example.com"]
    body = response.content.decode()
    assert "will not be shown again" in body
    assert shown(response, "endpoint") == "http://testserver/ingest/v1/batch"
    assert shown(response, "snippet") == (
        f'&lt;script src="http://testserver/static/growth.js" data-write-key="{key}" '
        'data-host="http://testserver" async&gt;&lt;/script&gt;'
    )

    # Never again: not on the list, the source page, the inbound log.
    for url in (
        reverse("sources"),
        reverse("source_detail", args=[source.pk]),
        reverse("source_rotate", args=[source.pk]),
        reverse("inbound"),
    ):
        page = client.get(url)
        assert page.status_code == 200 and key not in page.content.decode(), url
    detail = client.get(reverse("source_detail", args=[source.pk])).content.decode()
    assert f"Starts with <code>{key[:6]}</code>" in detail
    assert "http://testserver/ingest/v1/batch" in detail


def test_rotating_replaces_the_key_after_a_confirmation(client_as):
    client = client_as(Role.ADMIN)
    first = shown(
        client.post(reverse("source_create"), {"name": "Site", "kind": "tracking"}), "credential"
    )
    source = Source.objects.get()
    url = reverse("source_rotate", args=[source.pk])

    confirm = client.get(url)  # the GET only asks
    assert "stops working at once" in confirm.content.decode()
    source.refresh_from_db()
    assert source.write_key_hash == Source.hash_key(first) and source.rotated_at is None

    response = client.post(url)
    second = shown(response, "credential")
    source.refresh_from_db()
    assert second != first
    assert source.write_key_hash == Source.hash_key(second) != Source.hash_key(first)
    assert not Source.objects.filter(write_key_hash=Source.hash_key(first)).exists()
    assert source.rotated_at is not None
    assert "no-store" in response["Cache-Control"]
    # Audited, naming who did it and where from, and never the credential itself.
    from growth.models import AuditEvent

    [event] = AuditEvent.objects.filter(action="source_rotated")
    assert event.actor is not None and event.ip == "127.0.0.1"
    assert event.target == "Site (tracking)" and event.detail == {"source": source.pk}
    assert first not in str(event.detail) and second not in str(event.detail)


def test_shopify_source_keeps_the_secret_shopify_issued(client_as):
    client = client_as(Role.ADMIN)
    response = client.post(
        reverse("source_create"),
        {"name": "My Shopify", "kind": "shopify", "secret": "shpss_given_by_shopify"},
    )
    source = Source.objects.get()
    assert source.secret == "shpss_given_by_shopify" and source.write_key_hash is None
    assert shown(response, "credential") == "shpss_given_by_shopify"
    assert shown(response, "webhook") == f"http://testserver/webhooks/shopify/{source.slug}/"
    detail = client.get(reverse("source_detail", args=[source.pk])).content.decode()
    assert "shpss_given_by_shopify" not in detail
    assert f"http://testserver/webhooks/shopify/{source.slug}/" in detail


def test_woocommerce_source_gets_a_generated_secret(client_as):
    response = client_as(Role.ADMIN).post(
        reverse("source_create"), {"name": "Woo", "kind": "woocommerce"}
    )
    source = Source.objects.get()
    assert len(source.secret) > 20 and shown(response, "credential") == source.secret
    assert shown(response, "webhook") == f"http://testserver/webhooks/woocommerce/{source.slug}/"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "T", "kind": "tracking", "secret": "mine"}, "secret"),
        (
            {"name": "T", "kind": "tracking", "allowed_origins": "shop.example.com"},
            "allowed_origins",
        ),
        (
            {"name": "T", "kind": "tracking", "allowed_origins": "https://a.com/path"},
            "allowed_origins",
        ),
        ({"name": "S", "kind": "shopify", "allowed_origins": "https://a.com"}, "allowed_origins"),
        ({"name": "I", "kind": "import"}, "kind"),
    ],
)
def test_create_form_rejects_what_would_not_work(client_as, data, field):
    response = client_as(Role.ADMIN).post(reverse("source_create"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Source.objects.exists()


def test_editing_a_source(client_as):
    source = SourceFactory(name="Old", allowed_origins=["https://a.com"])
    client = client_as(Role.ADMIN)
    url = reverse("source_detail", args=[source.pk])
    assert "https://a.com" in client.get(url).content.decode()
    response = client.post(url, {"name": "New", "allowed_origins": "https://b.com\n*"})
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.name, source.allowed_origins, source.is_active) == (
        "New",
        ["https://b.com", "*"],
        False,
    )


def test_source_list_shows_delivery_stats_in_one_query(client_as, django_assert_max_num_queries):
    client = client_as(Role.ADMIN)
    client.get(reverse("sources"))  # session and permission caches warm
    busy = SourceFactory(name="A busy one")
    delivery(busy, status=Status.PROCESSED, at=NOON)
    delivery(busy, status=Status.PROCESSED, at=NOON + timedelta(hours=2))
    delivery(busy, status=Status.FAILED, at=NOON + timedelta(hours=1))
    SourceFactory.create_batch(40)
    with django_assert_max_num_queries(6) as captured:
        response = client.get(reverse("sources"))
    assert response.status_code == 200
    assert sum("leads_source" in q["sql"] for q in captured.captured_queries) == 1
    rows = {s.name: s for s in response.context["sources"]}
    assert len(rows) == 41
    a = rows["A busy one"]
    assert (a.processed_count, a.failed_count, a.pending_count) == (2, 1, 0)
    assert a.last_delivery_at == NOON + timedelta(hours=2)
    body = response.content.decode()
    assert "2 processed · 0 pending" in body and "1 failed" in body


def test_empty_source_list_says_what_and_how(client_as):
    body = client_as(Role.ADMIN).get(reverse("sources")).content.decode()
    assert "Create a source, then paste its snippet" in body


# --- Inbound -------------------------------------------------------------------------------


def test_inbound_filters(client_as):
    web, shop = SourceFactory(name="Web"), SourceFactory(name="Shop", kind=Source.Kind.SHOPIFY)
    a = delivery(web, topic="track", status=Status.PROCESSED, at=NOON)
    b = delivery(web, topic="identify", status=Status.FAILED, at=NOON - timedelta(days=1))
    c = delivery(shop, topic="orders/create", status=Status.FAILED, at=NOON - timedelta(days=3))
    client = client_as(Role.ADMIN)

    def ids(**params: object) -> list[int]:
        response = client.get(reverse("inbound"), params)
        assert response.status_code == 200
        return [d.pk for d in response.context["deliveries"]]

    assert ids() == [a.pk, b.pk, c.pk]  # newest first
    assert ids(status="failed") == [b.pk, c.pk]
    assert ids(source=shop.pk) == [c.pk]
    assert ids(topic="identify") == [b.pk]
    assert ids(received_from="2025-03-09") == [a.pk, b.pk]
    assert ids(received_to="2025-03-09") == [b.pk, c.pk]
    assert ids(received_from="2025-03-07", received_to="2025-03-07") == [c.pk]
    assert ids(status="failed", source=web.pk) == [b.pk]
    assert ids(topic="nothing") == []

    counts = client.get(reverse("inbound"), {"source": web.pk}).context["counts"]
    assert counts == {"pending": 0, "processing": 0, "processed": 1, "ignored": 0, "failed": 1}


def test_inbound_pages_by_cursor_with_constant_queries(client_as, django_assert_max_num_queries):
    source = SourceFactory()
    # 120 deliveries, many sharing a timestamp: the id breaks ties, so none is lost or doubled.
    rows = [delivery(source, at=NOON - timedelta(minutes=i // 7)) for i in range(120)]
    client = client_as(Role.ADMIN)
    client.get(reverse("inbound"))  # warm session and permission caches

    seen: list[int] = []
    url, query_counts = reverse("inbound") + "?topic=track", []
    while url:
        with django_assert_max_num_queries(8) as captured:
            response = client.get(url)
        query_counts.append(len(captured.captured_queries))
        page = response.context["deliveries"]
        assert len(page) <= 50
        seen += [d.pk for d in page]
        older = response.context["older_query"]
        url = f"{reverse('inbound')}?{older}" if older else None
        if older:
            assert "topic=track" in older  # filters survive paging
            assert 'rel="next"' in response.content.decode()
    expected = [r.pk for r in sorted(rows, key=lambda r: (r.received_at, r.pk), reverse=True)]
    assert seen == expected
    assert len(query_counts) == 3 and len(set(query_counts)) == 1


def test_a_mangled_cursor_starts_from_the_newest(client_as):
    row = delivery(SourceFactory())
    response = client_as(Role.ADMIN).get(reverse("inbound"), {"after": "garbage~x"})
    assert [d.pk for d in response.context["deliveries"]] == [row.pk]


def test_inbound_empty_state_says_what_and_how(client_as):
    body = client_as(Role.ADMIN).get(reverse("inbound")).content.decode()
    assert "Deliveries appear as soon as a source sends data" in body


def test_retry_one_failed_delivery(client_as):
    source = SourceFactory()
    failed = delivery(source, status=Status.FAILED, error="KeyError: 'email'", attempts=1)
    other = delivery(source, status=Status.FAILED)
    client = client_as(Role.ADMIN)
    detail = client.get(reverse("inbound_detail", args=[failed.pk])).content.decode()
    assert "KeyError" in detail and "Retry" in detail

    response = client.post(reverse("inbound_retry", args=[failed.pk]), follow=True)
    assert "1 failed delivery queued for another try." in response.content.decode()
    failed.refresh_from_db()
    other.refresh_from_db()
    assert (failed.status, failed.error) == (Status.PENDING, "")
    assert other.status == Status.FAILED
    assert client.get(reverse("inbound_retry", args=[failed.pk])).status_code == 405


def test_retry_all_failed_optionally_for_one_source(client_as):
    web, shop = SourceFactory(), SourceFactory()
    web_failed = [delivery(web, status=Status.FAILED) for _ in range(2)]
    shop_failed = delivery(shop, status=Status.FAILED)
    done = delivery(web, status=Status.PROCESSED)
    client = client_as(Role.ADMIN)
    assert "Retry all failed" in client.get(reverse("inbound")).content.decode()

    response = client.post(reverse("inbound_retry_all"), {"source": web.pk}, follow=True)
    assert "2 failed deliveries queued for another try." in response.content.decode()
    assert response.context["source"] == web  # back on the same filtered list
    statuses = dict(InboundDelivery.objects.values_list("pk", "status"))
    assert [statuses[r.pk] for r in web_failed] == [Status.PENDING, Status.PENDING]
    assert statuses[shop_failed.pk] == Status.FAILED and statuses[done.pk] == Status.PROCESSED

    response = client.post(reverse("inbound_retry_all"), follow=True)
    assert "1 failed delivery queued" in response.content.decode()
    assert not InboundDelivery.objects.filter(status=Status.FAILED).exists()


def test_detail_shows_the_raw_body_escaped(client_as):
    payload = b'{"name": "<script>alert(1)</script>", "note": "caf\xc3\xa9"}'
    row = delivery(
        SourceFactory(),
        body=payload,
        headers={"User-Agent": "<img src=x onerror=alert(2)>"},
        status=Status.FAILED,
        error="<b>bad</b>",
    )
    body = client_as(Role.ADMIN).get(reverse("inbound_detail", args=[row.pk])).content.decode()
    assert "<script>alert(1)" not in body and "<img src=x" not in body and "<b>bad" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(2)&gt;" in body
    assert "  &quot;note&quot;: &quot;café&quot;" in body  # pretty-printed JSON


def test_detail_shows_a_non_utf8_non_json_body(client_as):
    row = delivery(SourceFactory(), body=b"plain \xff text")
    response = client_as(Role.ADMIN).get(reverse("inbound_detail", args=[row.pk]))
    assert "plain \ufffd text" in response.content.decode()
    assert client_as(Role.ADMIN).get(reverse("inbound_detail", args=[999999])).status_code == 404
