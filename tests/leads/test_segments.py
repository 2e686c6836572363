"""Segments: full and incremental membership through the real pipeline, enter/exit times
and signals, time-window drift, RFM from crafted orders, static lists (by hand, from the
contact list's filters, from CSV), merges, and optimistic locking."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError

from leads import signals
from leads.models import Contact, RfmCutoffs, Segment, SegmentMembership
from leads.selectors import ContactFilters
from leads.services import segments as services
from leads.services.identity import contact_merge
from leads.services.reactions import batch_react
from leads.services.segment_rules import Scope
from tests.leads.factories import ContactFactory, EventFactory, OrderFactory
from tests.leads.helpers import post_segment, process_all

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 10, 12, tzinfo=UTC)
DE_VIEWERS = {
    "match": "all",
    "conditions": [
        {"kind": "contact", "field": "country", "operator": "eq", "value": "DE"},
        {
            "kind": "event",
            "name": "Product Viewed",
            "count_operator": "gte",
            "count": 2,
            "days": 30,
        },
    ],
}


@pytest.fixture
def moves() -> Iterator[list[tuple[str, int, list[int]]]]:
    """Every segment_entered / segment_exited sent, in order."""
    seen: list[tuple[str, int, list[int]]] = []

    def entered(sender: Any, segment_id: int, contact_ids: list[int], **kw: Any) -> None:
        seen.append(("entered", segment_id, contact_ids))

    def exited(sender: Any, segment_id: int, contact_ids: list[int], **kw: Any) -> None:
        seen.append(("exited", segment_id, contact_ids))

    signals.segment_entered.connect(entered)
    signals.segment_exited.connect(exited)
    yield seen
    signals.segment_entered.disconnect(entered)
    signals.segment_exited.disconnect(exited)


def members(segment: Segment) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).values_list(
            "contact_id", flat=True
        )
    )


def create(rules: dict[str, Any] = DE_VIEWERS, name: str = "DE viewers", **kw: Any) -> Segment:
    return services.segment_create(name=name, kind=kw.pop("kind", "dynamic"), rules=rules, **kw)


def viewed(contact: Contact, *days_ago: float) -> None:
    for days in days_ago:
        EventFactory(contact=contact, name="Product Viewed", occurred_at=NOW - timedelta(days=days))


def test_shipped_rfm_segments_match_the_frozen_copy_and_exist():
    migration = importlib.import_module("leads.migrations.0009_segments")
    assert migration.RFM_SEGMENTS == services.RFM_SEGMENTS
    assert sorted(Segment.objects.filter(kind="rfm").values_list("rfm_key", flat=True)) == sorted(
        key for key, _name, _description in services.RFM_SEGMENTS
    )
    services.rfm_install()  # idempotent
    assert Segment.objects.filter(kind="rfm").count() == 6


@time_machine.travel(NOW, tick=False)
def test_a_new_segment_is_computed_in_ranges_with_progress(
    monkeypatch, moves, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "CHUNK", 2)
    de = [ContactFactory(country="DE") for _ in range(5)]
    for contact in de[:3]:
        viewed(contact, 1, 2)
    viewed(de[3], 1)  # once: not enough
    fr = ContactFactory(country="FR")
    viewed(fr, 1, 2)
    with django_capture_on_commit_callbacks() as callbacks:
        segment = create()
    assert (segment.state, segment.version, segment.volatile) == ("computing", 1, True)
    assert len(callbacks) == 1  # the worker task, enqueued on commit
    with django_capture_on_commit_callbacks(execute=True):
        assert services.segment_compute(segment_id=segment.pk)
    segment.refresh_from_db()
    assert members(segment) == {c.pk for c in de[:3]}
    assert (segment.state, segment.member_count, segment.percent) == ("ready", 3, 100)
    assert segment.progress_done == segment.progress_total == Contact.objects.latest("id").pk
    assert segment.computed_at == NOW
    entered = [ids for kind, sid, ids in moves if kind == "entered" and sid == segment.pk]
    assert sorted(i for ids in entered for i in ids) == sorted(c.pk for c in de[:3])
    assert len(entered) >= 2  # one signal per committed range


@time_machine.travel(NOW, tick=False)
def test_a_computation_stops_when_the_rules_change_meanwhile_and_resumes_after_a_crash(
    monkeypatch,
):
    monkeypatch.setattr(services, "CHUNK", 1)
    a, b = ContactFactory(country="DE"), ContactFactory(country="DE")
    viewed(a, 1, 2)
    viewed(b, 1, 2)
    segment = create()
    # A worker died after the first range: the re-delivered task resumes after it.
    Segment.objects.filter(pk=segment.pk).update(progress_done=a.pk, computed_version=1)
    assert services.segment_compute(segment_id=segment.pk)
    assert members(segment) == {b.pk}  # a's range was "done": the nightly refresh repairs it
    services.segment_refresh(segment=Segment.objects.get(pk=segment.pk))
    assert members(segment) == {a.pk, b.pk}

    edited = services.segment_update(
        segment=segment, version=1, name="DE", rules={**DE_VIEWERS, "match": "any"}
    )
    assert (edited.state, edited.version) == ("computing", 2)
    original = services.segment_apply_rules

    def saved_meanwhile(**kwargs: Any) -> Any:
        Segment.objects.filter(pk=segment.pk).update(version=3)  # someone saves again
        return original(**kwargs)

    monkeypatch.setattr(services, "segment_apply_rules", saved_meanwhile)
    assert services.segment_compute(segment_id=segment.pk) is False
    assert Segment.objects.get(pk=segment.pk).state == "computing"  # left to the newer task


def track(client: Any, key: str, user: str, event: str, n: int, at: datetime) -> None:
    response = post_segment(
        client,
        key,
        "track",
        {
            "type": "track",
            "event": event,
            "userId": user,
            "messageId": f"{user}-{event}-{n}",
            "timestamp": at.isoformat(),
            "properties": {"product_id": f"p{n}"},
        },
    )
    assert response.status_code == 200


def identify(client: Any, key: str, user: str, country: str, n: int = 0) -> None:
    response = post_segment(
        client,
        key,
        "identify",
        {
            "userId": user,
            "messageId": f"{user}-id-{country}-{n}",
            "traits": {"address": {"country": country}},
        },
    )
    assert response.status_code == 200


def test_membership_follows_new_data_through_the_pipeline(
    client, tracking_source, moves, django_capture_on_commit_callbacks
):
    _, key = tracking_source
    with time_machine.travel(NOW, tick=False):
        segment = create()
        services.segment_compute(segment_id=segment.pk)
        assert members(segment) == set()

        identify(client, key, "ann", "DE")
        track(client, key, "ann", "Product Viewed", 1, NOW - timedelta(days=3))
        identify(client, key, "bob", "FR")
        track(client, key, "bob", "Product Viewed", 1, NOW - timedelta(days=3))
        track(client, key, "bob", "Product Viewed", 2, NOW - timedelta(days=2))
        with django_capture_on_commit_callbacks(execute=True):
            process_all()
        ann = Contact.objects.get(identities__value="ann")
        bob = Contact.objects.get(identities__value="bob")
        assert members(segment) == set()  # ann viewed once, bob is in FR

    later = NOW + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        track(client, key, "ann", "Product Viewed", 2, later)
        identify(client, key, "bob", "DE", 1)
        with django_capture_on_commit_callbacks(execute=True):
            process_all()
    assert members(segment) == {ann.pk, bob.pk}
    stays = SegmentMembership.objects.filter(segment=segment)
    assert {m.entered_at for m in stays} == {later}
    assert ("entered", segment.pk, sorted([ann.pk, bob.pk])) in moves or {
        tuple(ids) for kind, sid, ids in moves if kind == "entered" and sid == segment.pk
    } >= {(ann.pk,), (bob.pk,)}
    segment.refresh_from_db()
    assert segment.member_count == 2

    # Bob moves to France: he leaves at the next batch, his stay is kept with its times.
    moved = later + timedelta(hours=1)
    with time_machine.travel(moved, tick=False):
        identify(client, key, "bob", "FR", 2)
        with django_capture_on_commit_callbacks(execute=True):
            process_all()
    assert members(segment) == {ann.pk}
    stay = SegmentMembership.objects.get(segment=segment, contact=bob)
    assert (stay.entered_at, stay.exited_at) == (later, moved)
    assert ("exited", segment.pk, [bob.pk]) in moves
    segment.refresh_from_db()
    assert segment.member_count == 1

    # Time passes with no new data: "in the last 30 days" lets ann drift out.
    drifted = NOW + timedelta(days=31)
    with time_machine.travel(drifted, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert services.segments_refresh_volatile() == 1
    assert members(segment) == set()
    stay = SegmentMembership.objects.get(segment=segment, contact=ann)
    assert stay.exited_at == drifted
    assert ("exited", segment.pk, [ann.pk]) in moves
    assert Segment.objects.get(pk=segment.pk).member_count == 0


@time_machine.travel(NOW, tick=False)
def test_only_the_touched_contacts_are_evaluated_after_a_batch():
    segment = create()
    services.segment_compute(segment_id=segment.pk)
    inside, stale = ContactFactory(country="DE"), ContactFactory(country="DE")
    viewed(inside, 1, 2)
    viewed(stale, 1, 2)  # matches, but no batch touched it
    services.segments_evaluate(contact_ids=[inside.pk])
    assert members(segment) == {inside.pk}
    # One statement per rule-based segment plus a few fixed reads: not one per contact.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few, many = ContactFactory(country="DE"), [ContactFactory(country="DE") for _ in range(20)]
    for contact in many:
        viewed(contact, 1, 2)
    with CaptureQueriesContext(connection) as one:
        services.segments_evaluate(contact_ids=[few.pk])
    with CaptureQueriesContext(connection) as twenty:
        services.segments_evaluate(contact_ids=[c.pk for c in many])
    assert len(twenty) == len(one) + 1  # + moving the member count
    assert members(segment) == {inside.pk} | {c.pk for c in many}


def test_a_broken_segment_does_not_stop_the_others(caplog):
    good = create(
        rules={"match": "all", "conditions": [{"kind": "score", "operator": "gte", "value": 1}]},
        name="scored",
    )
    broken = create(name="broken")
    Segment.objects.filter(pk=broken.pk).update(
        rules={"match": "all", "conditions": [{"kind": "event"}]}
    )
    contact = ContactFactory(score=5)
    services.segments_evaluate(contact_ids=[contact.pk])
    assert members(good) == {contact.pk}
    assert "could not be evaluated" in caplog.text


# --- RFM ---------------------------------------------------------------------------------------

# (name, [(days ago, net revenue)…]) crafted so that each shipped segment gets someone; see
# the quintiles worked out in the comments of the expected table.
CUSTOMERS = {
    "A": [(1, 200), (30, 200), (60, 200), (90, 200), (120, 200)],
    "B": [(2, 200), (40, 200), (80, 200), (160, 200)],
    "C": [(5, 100), (50, 100), (100, 100), (150, 0)],
    "D": [(3, 50)],
    "E": [(4, 40)],
    "F": [(200, 175), (220, 175), (240, 175), (260, 175)],
    "G": [(150, 500)],
    "H": [(100, 30)],
    "I": [(300, 20)],
    "J": [(250, 30), (400, 30)],
}
# R (recency) / F (frequency) / M (monetary) scores, 1-5, from NTILE(5) over the ten:
EXPECTED = {
    "A": ("champions", 5, 5, 5),
    "B": ("champions", 5, 4, 5),
    "C": ("loyal", 3, 4, 3),
    "D": ("new", 4, 1, 2),
    "E": ("new", 4, 1, 2),
    "F": ("at_risk", 2, 4, 4),
    "G": ("hibernating", 2, 1, 4),
    "H": (None, 3, 1, 1),
    "I": ("lost", 1, 1, 1),
    "J": ("at_risk", 1, 3, 3),
}


def crafted_customers() -> dict[str, Contact]:
    people = {}
    for name, orders in CUSTOMERS.items():
        contact = ContactFactory(first_name=name)
        for days, revenue in orders:
            OrderFactory(
                contact=contact,
                status="paid",
                total=Decimal(revenue),
                placed_at=NOW - timedelta(days=days),
            )
        people[name] = contact
    lurker = ContactFactory(first_name="never bought")
    OrderFactory(contact=lurker, status="cancelled", placed_at=NOW)
    return people


def rfm_members() -> dict[int, str]:
    return dict(
        SegmentMembership.objects.filter(segment__kind="rfm", exited_at__isnull=True).values_list(
            "contact_id", "segment__rfm_key"
        )
    )


@time_machine.travel(NOW, tick=False)
def test_rfm_segments_from_crafted_orders(moves, django_capture_on_commit_callbacks):
    people = crafted_customers()
    with django_capture_on_commit_callbacks(execute=True):
        services.rfm_refresh()
    cutoffs = RfmCutoffs.objects.get()
    assert cutoffs.customers == 10
    assert cutoffs.frequency == [1, 1, 2, 4, 5]
    assert cutoffs.monetary == [
        Decimal("30"),
        Decimal("50"),
        Decimal("300"),
        Decimal("700"),
        Decimal("1000"),
    ]
    expected = {people[n].pk: key for n, (key, *_scores) in EXPECTED.items() if key}
    assert rfm_members() == expected
    counts = dict(Segment.objects.filter(kind="rfm").values_list("rfm_key", "member_count"))
    assert counts == {
        "champions": 2,
        "loyal": 1,
        "new": 2,
        "at_risk": 2,
        "hibernating": 1,
        "lost": 1,
    }
    champions = Segment.objects.get(rfm_key="champions")
    assert ("entered", champions.pk, sorted([people["A"].pk, people["B"].pk])) in moves

    # Refreshing again changes nothing and sends nothing.
    moves.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.rfm_refresh().count() == 0
    assert moves == []


@time_machine.travel(NOW, tick=False)
def test_a_batch_with_an_order_moves_that_customer_between_rfm_segments():
    people = crafted_customers()
    services.rfm_refresh()
    h = people["H"]
    assert h.pk not in rfm_members()
    OrderFactory(contact=h, status="paid", total=Decimal("900"), placed_at=NOW)
    batch_react(contact_ids=[h.pk])
    # Against the stored cutoffs: R 5 (newest), F 3 (two orders), M 5 (930): loyal.
    assert rfm_members()[h.pk] == "loyal"
    OrderFactory(contact=people["I"], status="refunded", total=Decimal("900"), placed_at=NOW)
    services.rfm_apply(scope=Scope.of([people["I"].pk]), now=NOW)
    assert rfm_members()[people["I"].pk] == "lost"  # a refunded order buys nothing


@time_machine.travel(NOW, tick=False)
def test_rfm_first_use_computes_cutoffs_when_there_are_none(django_capture_on_commit_callbacks):
    people = crafted_customers()
    with django_capture_on_commit_callbacks() as callbacks:
        services.segments_evaluate(contact_ids=[people["A"].pk])
    assert RfmCutoffs.objects.count() == 1
    assert rfm_members() == {people["A"].pk: "champions"}
    assert callbacks  # the full refresh for everyone else is enqueued


def test_nightly_refresh_and_the_beat_lock():
    services.segments_beat()  # no RFM computed yet: the daily refresh runs
    assert not Segment.objects.filter(kind="rfm", computed_at__isnull=True).exists()


# --- Static lists --------------------------------------------------------------------------------


def static(name: str = "Trade fair 2025") -> Segment:
    return services.segment_create(name=name, kind="static")


def test_static_list_by_hand(moves, django_capture_on_commit_callbacks):
    fair = static()
    assert fair.state == "ready"
    a, b = ContactFactory(), ContactFactory()
    gone = ContactFactory(erased_at=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        added = services.static_list_add(segment=fair, contact_ids=[a.pk, b.pk, gone.pk])
        assert sorted(added) == [a.pk, b.pk]  # in the database's order
        assert services.static_list_add(segment=fair, contact_ids=[a.pk]) == []  # already in
        assert services.static_list_remove(segment=fair, contact_ids=[a.pk]) == [a.pk]
    assert members(fair) == {b.pk}
    assert Segment.objects.get(pk=fair.pk).member_count == 1
    assert ("entered", fair.pk, [a.pk, b.pk]) in moves and ("exited", fair.pk, [a.pk]) in moves
    with django_capture_on_commit_callbacks(execute=True):
        services.static_list_add(segment=fair, contact_ids=[a.pk])  # back again: a new stay
    assert SegmentMembership.objects.filter(segment=fair, contact=a).count() == 2
    with pytest.raises(ValidationError):
        services.static_list_add(segment=create(), contact_ids=[a.pk])


def test_static_list_from_the_contact_lists_filters():
    fair = static()
    de = [ContactFactory(country="DE", lifecycle_stage="lead") for _ in range(3)]
    ContactFactory(country="DE", lifecycle_stage="customer")
    ContactFactory(country="FR", lifecycle_stage="lead")
    added = services.static_list_add_filtered(
        segment=fair, filters=ContactFilters(country="de", stage="lead")
    )
    assert sorted(added) == sorted(c.pk for c in de)
    assert members(fair) == {c.pk for c in de}
    assert Segment.objects.get(pk=fair.pk).member_count == 3


def test_static_list_from_a_csv_of_emails_reports_the_unknown():
    fair = static()
    ann = ContactFactory(email="Ann@Example.com")
    bob = ContactFactory(email="bob@example.com")
    bob.identities.create(kind="email", value="bob.work@example.com")
    services.static_list_add(segment=fair, contact_ids=[bob.pk])
    data = (
        b"Name;E-mail;Note\n"
        b"Ann;ann@example.COM;x\n"
        b"Bob;bob.work@example.com;\n"
        b"Zed;zed@nowhere.example;\n"
        b"Bad;not-an-address;\n"
    )
    result = services.static_list_upload(segment=fair, data=data)
    assert (result.rows, result.added, result.already) == (4, 1, 1)
    assert result.unknown == ["zed@nowhere.example"] and result.invalid == ["not-an-address"]
    assert members(fair) == {ann.pk, bob.pk}
    assert SegmentMembership.objects.get(segment=fair, contact=ann).via == "csv"

    plain = services.static_list_upload(segment=fair, data=b"ann@example.com\nnew@example.com\n")
    assert (plain.rows, plain.added, plain.already, plain.unknown) == (2, 0, 1, ["new@example.com"])
    with pytest.raises(ValidationError) as caught:
        services.static_list_upload(segment=fair, data=b"\xff\xfe")
    assert "file" in caught.value.message_dict


def test_a_merge_moves_list_stays_to_the_survivor(django_capture_on_commit_callbacks):
    fair = static()
    survivor, merged = ContactFactory(), ContactFactory()
    services.static_list_add(segment=fair, contact_ids=[merged.pk])
    with django_capture_on_commit_callbacks(execute=True):
        contact_merge(survivor=survivor, merged=merged, reason="same person")
    assert members(fair) == {survivor.pk}
    assert SegmentMembership.objects.get(segment=fair, contact=merged).exited_at is not None
    assert Segment.objects.get(pk=fair.pk).member_count == 1


def test_a_dynamic_segment_can_name_a_list_and_follows_it(django_capture_on_commit_callbacks):
    fair = static()
    rules = {
        "match": "all",
        "conditions": [{"kind": "member", "operator": "in", "segments": [fair.pk]}],
    }
    followers = create(rules=rules, name="Fair visitors")
    services.segment_compute(segment_id=followers.pk)
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.static_list_add(segment=fair, contact_ids=[contact.pk])
    assert members(followers) == {contact.pk}  # re-evaluated after the commit
    services.segment_delete(segment=fair)
    assert "was deleted" in Segment.objects.get(pk=followers.pk).problem


# --- Editing -------------------------------------------------------------------------------------


def test_saving_bumps_the_version_and_a_stale_version_is_a_conflict(user_with_role):
    from growth.roles import Role

    ann, bob = user_with_role(Role.MARKETER), user_with_role(Role.MARKETER)
    segment = create(actor=ann)
    mine = Segment.objects.get(pk=segment.pk)
    theirs = Segment.objects.get(pk=segment.pk)
    services.segment_update(
        segment=theirs, version=1, name="Bob's name", rules=DE_VIEWERS, actor=bob
    )
    with pytest.raises(services.SegmentConflict) as caught:
        services.segment_update(
            segment=mine, version=1, name="Ann's name", rules=DE_VIEWERS, actor=ann
        )
    assert caught.value.current.name == "Bob's name" and caught.value.current.updated_by == bob
    saved = services.segment_update(
        segment=mine, version=2, name="Ann's name", rules=DE_VIEWERS, actor=ann
    )
    assert (saved.version, saved.name, saved.state) == (3, "Ann's name", "computing")


def test_invalid_segments_are_refused_naming_the_field():
    create()
    with pytest.raises(ValidationError) as caught:
        services.segment_create(
            name="de VIEWERS",
            kind="dynamic",
            rules={"match": "all", "conditions": [{"kind": "score"}]},
        )
    errors = caught.value.message_dict
    assert "Another segment is called" in errors["name"][0]  # every problem at once
    assert "r_0.value" in errors
    with pytest.raises(ValidationError) as caught:
        services.segment_create(name="de VIEWERS", kind="dynamic", rules=DE_VIEWERS)
    assert "Another segment is called" in caught.value.message_dict["name"][0]
    with pytest.raises(ValidationError) as caught:
        services.segment_create(name="", kind="rfm")
    assert set(caught.value.message_dict) == {"name", "kind"}
    with pytest.raises(ValidationError):
        services.segment_update(segment=Segment.objects.get(rfm_key="lost"), version=1, name="x")
    with pytest.raises(ValidationError):
        services.segment_delete(segment=Segment.objects.get(rfm_key="lost"))
