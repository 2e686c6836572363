"""Discount codes: issued once per key from a pattern (no ambiguous characters, collisions
retried) or from a pool (each code once, even to concurrent workers; an empty pool is a
clear error), pool uploads (dedupe, validation, rejects with line numbers), redemption from
orders' coupon codes after each inbound batch (one UPDATE … FROM), and the pages."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.models import DiscountCampaign, DiscountCode
from automations.services import codes as services
from automations.services.codes import (
    ALPHABET,
    CodePoolEmpty,
    campaign_create,
    code_issue,
    codes_import,
    codes_redeem_match,
)
from growth.roles import Role
from leads.models import Order
from leads.services import reactions
from tests.leads.factories import ContactFactory, OrderFactory

pytestmark = pytest.mark.django_db

PLACED = datetime(2030, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def welcome() -> DiscountCampaign:
    return campaign_create(
        name="Welcome", kind="pattern", pattern="WELCOME-{code}", code_length=8, value="10 %"
    )


@pytest.fixture
def pool() -> DiscountCampaign:
    return campaign_create(name="Spring pool", kind="pool", value="5 EUR", valid_days=30)


# --- Campaigns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "length", "why"),
    [
        ("WELCOME", 8, "{code} exactly once"),
        ("A-{code}-{code}", 8, "{code} exactly once"),
        ("WELCOME {code}", 8, "only letters"),
        ("WELCOME-{code}", 2, "random characters"),
        ("X" * 60 + "{code}", 8, "at most 60 characters"),
    ],
)
def test_a_pattern_that_cannot_make_codes_is_refused(pattern, length, why):
    with pytest.raises(ValidationError) as raised:
        campaign_create(name="Bad", kind="pattern", pattern=pattern, code_length=length, value="x")
    assert why in " ".join(raised.value.messages)
    assert not DiscountCampaign.objects.exists()


def test_a_pool_campaign_has_no_pattern():
    with pytest.raises(ValidationError):
        campaign_create(name="P", kind="pool", pattern="A-{code}", value="x")


# --- Issuing from a pattern -----------------------------------------------------------------


def test_pattern_codes_are_unique_per_key_and_unambiguous(welcome):
    anna, bob = ContactFactory(), ContactFactory()
    first = code_issue(campaign=welcome, contact=anna, key="run-1:node-5")
    assert re.fullmatch(rf"WELCOME-[{ALPHABET}]{{8}}", first.code)
    assert (first.contact_id, first.campaign_id, first.issue_key) == (
        anna.pk,
        welcome.pk,
        "run-1:node-5",
    )
    assert first.issued_at is not None and first.redeemed_at is None
    assert code_issue(campaign=welcome, contact=anna, key="run-1:node-5").pk == first.pk
    other = code_issue(campaign=welcome, contact=bob, key="run-2:node-5")
    assert other.code != first.code
    assert DiscountCode.objects.count() == 2
    many = "".join(
        code_issue(campaign=welcome, contact=bob, key=f"k{i}").code.removeprefix("WELCOME-")
        for i in range(40)
    )
    assert not set(many) & set("01OIL")


def test_a_random_code_that_exists_already_is_drawn_again(welcome, monkeypatch):
    anna = ContactFactory()
    taken = code_issue(campaign=welcome, contact=anna, key="a").code
    draws = iter([taken, taken, "WELCOME-FRESH234"])
    monkeypatch.setattr(services, "code_generate", lambda pattern, length: next(draws))
    assert code_issue(campaign=welcome, contact=anna, key="b").code == "WELCOME-FRESH234"


def test_a_pattern_with_no_unused_code_left_says_so(welcome, monkeypatch):
    anna = ContactFactory()
    taken = code_issue(campaign=welcome, contact=anna, key="a").code
    monkeypatch.setattr(services, "code_generate", lambda pattern, length: taken)
    with pytest.raises(ValidationError, match="give the pattern more random characters"):
        code_issue(campaign=welcome, contact=anna, key="b")
    assert not DiscountCode.objects.filter(issue_key="b").exists()


def test_expiry_follows_the_campaign(pool, welcome):
    codes_import(campaign=pool, lines=["SPRING-AAAA"])
    code = code_issue(campaign=pool, contact=ContactFactory(), key="k")
    assert code.expires_at == code.issued_at + timedelta(days=30)
    assert code_issue(campaign=welcome, contact=ContactFactory(), key="w").expires_at is None


# --- Issuing from a pool --------------------------------------------------------------------


def test_pool_codes_go_out_in_upload_order_once_each_then_a_clear_error(pool):
    codes_import(campaign=pool, lines=["SPRING-AAAA", "SPRING-BBBB"])
    anna, bob, cleo = ContactFactory(), ContactFactory(), ContactFactory()
    assert code_issue(campaign=pool, contact=anna, key="a").code == "SPRING-AAAA"
    assert code_issue(campaign=pool, contact=anna, key="a").code == "SPRING-AAAA"
    assert code_issue(campaign=pool, contact=bob, key="b").code == "SPRING-BBBB"
    with pytest.raises(CodePoolEmpty) as raised:
        code_issue(campaign=pool, contact=cleo, key="c")
    assert 'The pool of "Spring pool" has no free code left' in raised.value.messages[0]
    assert raised.value.code == "pool_empty"
    assert code_issue(campaign=pool, contact=bob, key="b").code == "SPRING-BBBB"  # still its own


def test_concurrent_workers_never_get_the_same_pool_code(transactional_db):
    pool = campaign_create(name="Race pool", kind="pool", value="x")
    codes_import(campaign=pool, lines=[f"RACE-{i:04d}" for i in range(6)])
    contacts = [ContactFactory() for _ in range(8)]
    barrier, got, errors = threading.Barrier(8), {}, []

    def issue(n: int) -> None:
        try:
            barrier.wait()
            # Keys 0..3 asked twice each by two workers; 4 distinct others.
            key = f"key-{n % 4}" if n < 8 else f"key-{n}"
            got[n] = code_issue(campaign=pool, contact=contacts[n], key=key).code
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for key in range(4):  # the same key: the same code for both workers
        assert got[key] == got[key + 4]
    assert len(set(got.values())) == 4
    assert DiscountCode.objects.filter(issue_key__isnull=False).count() == 4
    assert DiscountCode.objects.filter(issue_key__isnull=True).count() == 2


# --- Pool upload ----------------------------------------------------------------------------


def test_pool_upload_dedupes_validates_and_reports(pool, welcome):
    code_issue(campaign=welcome, contact=ContactFactory(), key="k")
    existing = DiscountCode.objects.get().code
    report = codes_import(
        campaign=pool,
        lines=[
            "code,value",  # a header
            "spring-1111,5",
            "SPRING-2222",
            '"SPRING-3333";x',
            "",
            "spring-1111",  # repeated
            "SPRING 4444",  # a space
            "AB",  # too short
            existing,  # another campaign's
            "SPRING-ÄÖÜ",
        ],
    )
    assert (report.added, report.duplicates, report.existing, report.rejected_total) == (3, 1, 1, 3)
    assert [(line, why[:22]) for line, _value, why in report.rejected] == [
        (7, "A code has only letter"),
        (8, "A code has 3 to 100 ch"),
        (10, "A code has only letter"),
    ]
    assert sorted(pool.codes.values_list("code", flat=True)) == [
        "SPRING-1111",
        "SPRING-2222",
        "SPRING-3333",
    ]
    again = codes_import(campaign=pool, lines=["SPRING-2222", "SPRING-5555"])
    assert (again.added, again.existing) == (1, 1)


def test_a_pattern_campaign_takes_no_upload(welcome):
    with pytest.raises(ValidationError):
        codes_import(campaign=welcome, lines=["A-1234"])


# --- Redemption -----------------------------------------------------------------------------


def order(contact, coupons, *, placed=PLACED, status=Order.Status.PAID):  # type: ignore[no-untyped-def]
    return OrderFactory(contact=contact, coupon_codes=coupons, placed_at=placed, status=status)


def test_redemption_is_registered_between_stages_and_segments():
    orders = {name.rsplit(".", 1)[-1]: number for number, name, _step in reactions._steps}
    assert orders["codes_redeem_react"] == 25
    assert orders["qualification_react"] < 25 < orders["segments_react"]


def test_orders_of_touched_contacts_redeem_their_codes_after_a_batch(welcome):
    anna, bob, cleo = ContactFactory(), ContactFactory(), ContactFactory()
    annas = code_issue(campaign=welcome, contact=anna, key="a")
    bobs = code_issue(campaign=welcome, contact=bob, key="b")
    cleos = code_issue(campaign=welcome, contact=cleo, key="c")
    first = order(anna, [annas.code.lower(), "FREESHIP"])  # shops keep the customer's case
    order(anna, [annas.code], placed=PLACED + timedelta(days=3))  # used again: the first counts
    order(bob, [bobs.code], status=Order.Status.CANCELLED)  # cancelled: not redeemed
    order(cleo, [cleos.code])  # not touched by this batch

    reactions.batch_react(contact_ids=[anna.pk, bob.pk])

    annas.refresh_from_db()
    assert (annas.redeemed_at, annas.order_id) == (PLACED, first.pk)
    bobs.refresh_from_db()
    cleos.refresh_from_db()
    assert bobs.redeemed_at is None and cleos.redeemed_at is None


def test_a_code_shared_with_someone_else_is_redeemed_by_their_order(welcome):
    anna, friend = ContactFactory(), ContactFactory()
    code = code_issue(campaign=welcome, contact=anna, key="a")
    placed = order(friend, [f"  {code.code} "])
    assert codes_redeem_match(contact_ids=[friend.pk]) == 1
    code.refresh_from_db()
    assert (code.order_id, code.contact_id) == (placed.pk, anna.pk)


def test_redemption_is_one_statement_and_never_redeems_twice(welcome):
    anna = ContactFactory()
    codes = [code_issue(campaign=welcome, contact=anna, key=f"k{i}") for i in range(3)]
    first = order(anna, [c.code for c in codes[:2]])
    with CaptureQueriesContext(connection) as queries:
        assert codes_redeem_match(contact_ids=[anna.pk]) == 2
    assert len(queries) == 1 and queries[0]["sql"].lstrip().startswith("UPDATE")
    order(anna, [codes[0].code, codes[2].code], placed=PLACED - timedelta(days=1))
    assert codes_redeem_match(contact_ids=[anna.pk]) == 1  # only the third: no re-redeem
    codes[0].refresh_from_db()
    assert codes[0].order_id == first.pk
    assert codes_redeem_match(contact_ids=[]) == 0


# --- Pages ----------------------------------------------------------------------------------


def test_campaign_list_shows_counts_in_constant_queries(
    client_as, welcome, pool, django_assert_max_num_queries
):
    client = client_as(Role.MARKETER)
    codes_import(campaign=pool, lines=["P-0001", "P-0002", "P-0003"])
    anna = ContactFactory()
    issued = code_issue(campaign=pool, contact=anna, key="p")
    code_issue(campaign=welcome, contact=anna, key="w1")
    code_issue(campaign=welcome, contact=anna, key="w2")
    order(anna, [issued.code])
    codes_redeem_match(contact_ids=[anna.pk])

    with django_assert_max_num_queries(7) as few:
        page = client.get("/discount-codes/")
    counts = {c.name: (c.issued, c.redeemed, c.free) for c in page.context["campaigns"]}
    assert counts == {"Spring pool": (1, 1, 2), "Welcome": (2, 0, 0)}
    html = page.content.decode()
    assert 'data-name="Spring pool"' in html
    for i in range(5):
        campaign_create(name=f"C{i}", kind="pattern", pattern="C-{code}", value="x")
    with django_assert_max_num_queries(7) as many:
        client.get("/discount-codes/")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_empty_campaign_list_says_what_to_do(client_as):
    html = client_as(Role.MARKETER).get("/discount-codes/").content.decode()
    assert 'data-testid="empty"' in html and "Create the first campaign" in html


def test_marketer_creates_a_pattern_campaign(client_as):
    client = client_as(Role.MARKETER)
    assert client.get("/discount-codes/new/").status_code == 200
    bad = client.post(
        "/discount-codes/new/",
        {
            "name": "Welcome",
            "kind": "pattern",
            "pattern": "WELCOME",
            "code_length": "8",
            "value": "10 %",
        },
    )
    assert bad.status_code == 400 and "exactly once" in bad.content.decode()
    answer = client.post(
        "/discount-codes/new/",
        {
            "name": "Welcome",
            "kind": "pattern",
            "pattern": "welcome-{CODE}",
            "code_length": "6",
            "value": "10 %",
            "valid_days": "14",
        },
    )
    campaign = DiscountCampaign.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/discount-codes/{campaign.pk}/"
    assert (campaign.pattern, campaign.code_length, campaign.valid_days) == (
        "WELCOME-{code}",
        6,
        14,
    )
    page = client.get(answer["Location"])
    assert page.status_code == 200 and 'data-testid="no-codes"' in page.content.decode()


def test_marketer_uploads_pool_codes_and_sees_the_report(client_as, pool):
    client = client_as(Role.MARKETER)
    upload = SimpleUploadedFile(
        "codes.csv",
        b"\xef\xbb\xbfcode\nSPRING-AAAA\nspring-bbbb\nSPRING-AAAA\nbad code\n",
        "text/csv",
    )
    page = client.post(f"/discount-codes/{pool.pk}/upload/", {"file": upload})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="import-added">2<' in html
    assert 'data-testid="import-duplicates">1<' in html
    assert 'data-testid="import-rejected">1<' in html
    assert 'data-testid="import-header"' in html
    assert "<code>bad code</code>" in html
    assert 'data-testid="free">2<' in html
    pasted = client.post(f"/discount-codes/{pool.pk}/upload/", {"text": "SPRING-CCCC\n"})
    assert 'data-testid="import-added">1<' in pasted.content.decode()
    assert pool.codes.count() == 3
    nothing = client.post(f"/discount-codes/{pool.pk}/upload/", {})
    assert (
        nothing.status_code == 400 and "Choose a file or paste codes." in nothing.content.decode()
    )
    binary = SimpleUploadedFile("codes.xlsx", b"\xff\xfe\x00bad", "application/octet-stream")
    page = client.post(f"/discount-codes/{pool.pk}/upload/", {"file": binary})
    assert page.status_code == 400 and "not UTF-8 text" in page.content.decode()


def test_an_empty_pool_is_flagged_on_its_page(client_as, pool):
    html = client_as(Role.MARKETER).get(f"/discount-codes/{pool.pk}/").content.decode()
    assert 'data-testid="pool-empty"' in html


def test_a_campaign_with_codes_keeps_its_kind(client_as, welcome):
    code_issue(campaign=welcome, contact=ContactFactory(), key="k")
    client = client_as(Role.MARKETER)
    page = client.post(
        f"/discount-codes/{welcome.pk}/",
        {"name": "Welcome", "kind": "pool", "pattern": "", "code_length": "8", "value": "10 %"},
    )
    assert page.status_code == 400 and "kind cannot change" in page.content.decode()
    welcome.refresh_from_db()
    assert welcome.kind == "pattern"
    saved = client.post(
        f"/discount-codes/{welcome.pk}/",
        {
            "name": "Welcome",
            "kind": "pattern",
            "pattern": "HI-{code}",
            "code_length": "8",
            "value": "15 %",
        },
    )
    assert saved.status_code == 302
    welcome.refresh_from_db()
    assert (welcome.pattern, welcome.value) == ("HI-{code}", "15 %")


def test_discount_pages_need_the_journeys_capability(client_as, pool):
    client = client_as(Role.SALES_MANAGER)
    for url in ("/discount-codes/", "/discount-codes/new/", f"/discount-codes/{pool.pk}/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/discount-codes/{pool.pk}/upload/", {"text": "A-1234"}).status_code == 403
    assert client_as(Role.MARKETER).get("/discount-codes/999999/").status_code == 404


def test_codes_follow_a_merge_to_the_survivor(welcome):
    merged, survivor = ContactFactory(), ContactFactory()
    code_issue(campaign=welcome, contact=merged, key="k")
    assert services.codes_move_contact(survivor_id=survivor.pk, merged_id=merged.pk) == 1
    assert DiscountCode.objects.get().contact_id == survivor.pk
