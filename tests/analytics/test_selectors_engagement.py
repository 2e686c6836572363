"""The engagement KPI selectors against small shops computed by hand: exact counts and rates,
the period's edges (in UTC and in Asia/Shanghai), empty periods ("—", never a division by
zero), the segment and first-touch filters, agreement with the team board, and query counts
that do not grow with the data."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from analytics import selectors_engagement as sel
from analytics.filters import Filters
from automations.models import Delivery, Journey, JourneyRun, JourneyVersion, Survey, SurveyAnswer
from automations.selectors_journeys import two_proportion_p
from cadences import selectors_team
from cadences.models import Cadence, Enrollment, Touch
from cadences.selectors_team import BoardScope
from leads.models import Consent, Contact, Segment, SegmentMembership, Source
from tests.cadences.helpers import mql, published
from tests.leads.factories import ConsentFactory, ContactFactory, OrderFactory, SourceFactory

pytestmark = pytest.mark.django_db

MARCH = Filters(start=date(2026, 3, 1), end=date(2026, 3, 31))
JANUARY = Filters(start=date(2026, 1, 1), end=date(2026, 1, 31))  # nothing happened then
NOW = datetime(2026, 4, 10, 12, tzinfo=UTC)
MIN = timedelta(minutes=1)
_serial = itertools.count()


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


LAST_SECOND = at(31, 23, 59, 59)  # still March
NEXT_DAY = at(1, 0, month=4)  # April: out
FIRST_SECOND = at(1, 0)  # March 1, 00:00: in
DAY_BEFORE = at(28, 23, 59, 59, month=2)  # out


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def persona(*members: Contact, exited: tuple[Contact, ...] = ()) -> Segment:
    """A persona (a segment of kind persona) with open memberships, and closed ones."""
    segment = Segment.objects.create(name=f"Persona {next(_serial)}", kind=Segment.Kind.PERSONA)
    for contact in members:
        SegmentMembership.objects.create(segment=segment, contact=contact, entered_at=at(1))
    for contact in exited:
        SegmentMembership.objects.create(
            segment=segment, contact=contact, entered_at=at(1), exited_at=at(2)
        )
    return segment


# --- Messages and journeys: one small shop ---------------------------------------------------


def message(
    contact: Contact | None,
    sent: datetime | None,
    status: str = "sent",
    *,
    channel: str = "email",
    journey: Journey | None = None,
    origin: str = "",
    delivered: bool = False,
    opened: bool = False,
    clicked: bool = False,
) -> Delivery:
    return Delivery.objects.create(
        key=f"test:{next(_serial)}",
        contact=contact,
        channel=channel,
        purpose="marketing",
        origin=origin or ("journey" if journey else ""),
        journey=journey,
        status=status,
        scheduled_for=sent or NOW,
        due_at=sent or NOW,
        sent_at=sent,
        delivered_at=sent + MIN if sent and delivered else None,
        opened_at=sent + 2 * MIN if sent and opened else None,
        clicked_at=sent + 3 * MIN if sent and clicked else None,
    )


def opted_out(contact: Contact, channel: str, when: datetime) -> None:
    ConsentFactory(contact=contact, channel=channel, status=Consent.Status.DENIED, changed_at=when)


def journey(name: str, *, live: bool = True, status: str = "active") -> Journey:
    item = Journey.objects.create(name=name, status=status)
    version = JourneyVersion.objects.create(journey=item, number=1, graph={}, trigger_kind="manual")
    if live:
        item.live = version
        item.save(update_fields=["live"])
    return item


def run(
    on: Journey, contact: Contact, started: datetime, status: str, ended: datetime | None = None
) -> JourneyRun:
    return JourneyRun.objects.create(
        journey=on,
        version=JourneyVersion.objects.get(journey=on),
        contact=contact,
        entry_key=f"test:{next(_serial)}",
        status=status,
        node="end",
        due_at=started,
        started_at=started,
        ended_at=ended,
    )


def order(
    source: Source,
    contact: Contact,
    placed: datetime,
    total: str,
    status: str = "paid",
    **more: Any,
) -> None:
    OrderFactory(
        source=source,
        contact=contact,
        placed_at=placed,
        total=Decimal(total),
        status=status,
        **more,
    )


@dataclass
class Shop:
    people: dict[str, Contact]
    persona: Segment
    cart: Journey
    welcome: Journey


@pytest.fixture
def shop() -> Shop:
    """15 e-mails and 4 SMS sent in March (and the ones around them that do not count), four
    journeys with runs and the orders their contacts placed."""
    people = {
        name: ContactFactory(first_name=name, source_channel=source, first_touch=touch)
        for name, source, touch in [
            ("ann", "google / cpc", {"utm_campaign": "spring"}),
            ("bob", "direct", {}),
            ("kim", "facebook / paid-social", {}),
            *((n, "", {}) for n in ("cy", "dee", "eve", "fay", "gus", "hal", "ivy")),
        ]
    }
    p = people
    cart, welcome = journey("Cart"), journey("Welcome")
    journey("Spring")  # published, no run in March
    journey("Draft", live=False, status="draft")  # never published, nothing: not listed
    old = journey("Old", live=False, status="archived")

    # E-mails.
    message(
        p["ann"], at(2, 10), "clicked", journey=welcome, delivered=True, opened=True, clicked=True
    )
    message(p["ann"], at(3), "opened", journey=welcome, delivered=True, opened=True)
    message(p["ann"], at(4), "delivered", journey=cart, delivered=True)
    message(p["bob"], at(5), "clicked", journey=cart, clicked=True)  # the click proves the rest
    message(p["kim"], at(5), "bounced", origin="cadence")
    message(p["bob"], at(6), "failed", origin="cadence")
    message(p["bob"], at(6), "sent")  # no news from the provider
    message(p["cy"], at(7), "unsubscribed", delivered=True)  # the provider's unsubscribe
    message(p["dee"], at(8, 10), "delivered", delivered=True)
    opted_out(p["dee"], "email", at(10, 10))  # our link, two days later: credited to it
    message(p["eve"], at(10), "delivered", delivered=True)
    message(p["eve"], at(12), "sent")  # the last before the opt-out: credited, so it arrived
    opted_out(p["eve"], "email", at(13))
    message(p["fay"], at(14), "complained")
    message(p["gus"], at(15, 10), "delivered", delivered=True)
    opted_out(p["gus"], "email", at(23, 10, 1))  # more than 7 days later: not credited
    message(p["hal"], LAST_SECOND, "delivered", delivered=True)
    message(p["hal"], NEXT_DAY, "delivered", delivered=True)
    message(p["hal"], FIRST_SECOND, "sent")
    message(p["hal"], DAY_BEFORE, "delivered", delivered=True)
    message(None, at(9), "delivered", delivered=True)  # a test send to a user
    message(p["ann"], at(9), "sent", channel="webhook")  # not a message to a person
    message(p["ann"], None, "scheduled")
    message(p["ann"], None, "suppressed")
    # SMS.
    message(p["ann"], at(4), "delivered", channel="sms", journey=cart, delivered=True)
    message(p["bob"], at(5), "failed", channel="sms")
    message(p["bob"], at(6), "sent", channel="sms")
    message(p["ivy"], at(7, 10), "delivered", channel="sms", delivered=True)
    opted_out(p["ivy"], "sms", at(7, 13))  # STOP

    # Runs and orders.
    run(cart, p["ann"], at(5, 10), "converted", at(5, 12))
    run(cart, p["ann"], at(5, 10, 30), "exited", at(5, 11, 45))  # overlaps: orders count once
    run(cart, p["bob"], at(10, 10), "done", at(12, 0))
    run(cart, p["cy"], at(20), "waiting")  # under way: orders until now count
    run(cart, p["dee"], at(27, 10, month=2), "converted", at(27, 11, month=2))  # February
    run(cart, p["eve"], NEXT_DAY, "done", at(2, month=4))
    run(welcome, p["gus"], LAST_SECOND, "converted", at(1, 0, 10, month=4))
    run(welcome, p["hal"], NEXT_DAY, "done", at(2, month=4))
    run(old, p["fay"], at(15), "failed", at(15))
    shop_source = SourceFactory(kind=Source.Kind.SHOPIFY)
    order(shop_source, p["ann"], at(5, 11), "100.00")
    order(
        shop_source,
        p["ann"],
        at(5, 12, 30),
        "20.00",
        "partially_refunded",
        refunded_total=Decimal("5.00"),
        currency="EUR",
        rate_to_base=Decimal("1.10"),
    )
    order(shop_source, p["ann"], at(5, 13, 30), "50.00")  # after goal + 1 hour
    order(shop_source, p["ann"], at(5, 9), "70.00")  # before the run
    order(shop_source, p["ann"], at(5, 11, 30), "999.00", "pending")  # not placed
    order(shop_source, p["ann"], at(5, 11, 15), "30.00", "cancelled")  # placed, net 0
    order(shop_source, p["bob"], at(11), "40.00")
    order(shop_source, p["bob"], at(12, 0, 30), "25.00")  # after the run ended
    order(shop_source, p["cy"], at(2, month=4), "10.00")
    order(shop_source, p["dee"], at(27, 10, 30, month=2), "500.00")  # a February run's
    return Shop(
        people=people, persona=persona(p["ann"], exited=(p["bob"],)), cart=cart, welcome=welcome
    )


def counts(row: sel.MessageRates) -> tuple[Any, ...]:
    return (
        row.sent,
        row.delivered,
        row.opened,
        row.clicked,
        row.unsubscribed,
        row.complained,
        row.bounced,
        row.failed,
    )


def rates(row: sel.MessageRates) -> tuple[float | None, ...]:
    return (
        row.delivered_rate,
        row.open_rate,
        row.click_rate,
        row.unsubscribe_rate,
        row.complaint_rate,
        row.bounce_rate,
        row.failure_rate,
    )


def test_message_rates_per_channel(shop: Shop) -> None:
    email, sms = sel.message_rates(MARCH)

    assert email.channel == "email"
    # sent, delivered, opened, clicked, unsubscribed, complained, bounced, failed
    assert counts(email) == (15, 11, 3, 2, 3, 1, 1, 1)
    assert rates(email) == pytest.approx((11 / 15, 3 / 11, 2 / 11, 3 / 11, 1 / 11, 1 / 15, 1 / 15))
    # Twilio reports no opens, clicks, bounces or complaints: "—", not 0 %.
    assert sms.channel == "sms"
    assert counts(sms) == (4, 2, None, None, 1, None, None, 1)
    assert rates(sms) == (0.5, None, None, 0.5, None, None, 0.25)


def test_message_rates_of_an_empty_period_and_a_zero_delivered_filter(shop: Shop) -> None:
    for row in sel.message_rates(JANUARY):
        assert row.sent == row.delivered == row.unsubscribed == row.failed == 0
        assert rates(row) == (None,) * 7
    # Only kim's bounced e-mail: sent, never delivered.
    email, sms = sel.message_rates(Filters(MARCH.start, MARCH.end, source="facebook"))
    assert counts(email) == (1, 0, 0, 0, 0, 0, 1, 0)
    assert rates(email) == (0.0, None, None, None, None, 1.0, 0.0)
    assert sms.sent == 0 and rates(sms) == (None,) * 7


def test_message_rates_of_a_persona_and_a_first_touch_channel(shop: Shop) -> None:
    # Ann is a member; Bob left the persona, so his messages are not counted.
    for filters in (
        Filters(MARCH.start, MARCH.end, segment=shop.persona.pk),
        Filters(MARCH.start, MARCH.end, channel="google / cpc", campaign="spring"),
    ):
        email, sms = sel.message_rates(filters)
        assert counts(email) == (3, 3, 2, 1, 0, 0, 0, 0)
        assert counts(sms) == (1, 1, None, None, 0, None, None, 0)


def test_message_rates_by_journey_add_up_to_the_totals(shop: Shop) -> None:
    rows = sel.message_rates_by_journey(MARCH)

    assert [(r.journey_id, r.journey_name, r.origin, r.channel, r.sent) for r in rows] == [
        (shop.cart.pk, "Cart", "", "email", 2),
        (shop.cart.pk, "Cart", "", "sms", 1),
        (shop.welcome.pk, "Welcome", "", "email", 2),
        (None, "", "", "email", 9),
        (None, "", "", "sms", 3),
        (None, "", "cadence", "email", 2),
    ]
    cart_email, cart_sms, welcome_email = rows[:3]
    assert counts(cart_email) == (2, 2, 1, 1, 0, 0, 0, 0)
    assert counts(cart_sms) == (1, 1, None, None, 0, None, None, 0)
    assert counts(welcome_email) == (2, 2, 2, 1, 0, 0, 0, 0)
    assert welcome_email.open_rate == 1.0 and welcome_email.click_rate == 0.5
    for total in sel.message_rates(MARCH):
        parts = [counts(r) for r in rows if r.channel == total.channel]
        summed = tuple(
            None if column[0] is None else sum(column) for column in zip(*parts, strict=True)
        )
        assert summed == counts(total)


def journeys(filters: Filters) -> dict[str, tuple[Any, ...]]:
    return {
        row.name: (
            row.started,
            row.converted,
            row.under_way,
            row.conversion_rate,
            row.sent,
            row.clicked,
            row.orders,
            row.revenue,
        )
        for row in sel.journey_performance(filters)
    }


def test_journey_performance(shop: Shop) -> None:
    rows = sel.journey_performance(MARCH)

    assert [(r.name, r.status) for r in rows] == [
        ("Cart", "active"),
        ("Old", "archived"),
        ("Spring", "active"),
        ("Welcome", "active"),
    ]
    assert rows[0].journey_id == shop.cart.pk
    # started, converted, under way, conversion, sent, clicked, orders, revenue. Cart's
    # orders: Ann's 100 and 20 EUR at 1.10 less 5 refunded (16.50) and a cancelled one (0),
    # each once though her two runs overlap; Bob's 40 during his run; Cy's 10, run under way.
    assert journeys(MARCH) == {
        "Cart": (4, 1, 1, 0.25, 3, 1, 5, Decimal("166.50")),
        "Old": (1, 0, 0, 0.0, 0, 0, 0, Decimal("0")),
        "Spring": (0, 0, 0, None, 0, 0, 0, Decimal("0")),
        "Welcome": (1, 1, 0, 1.0, 2, 1, 0, Decimal("0")),  # started at 23:59:59 on the 31st
    }
    assert journeys(JANUARY) == {
        name: (0, 0, 0, None, 0, 0, 0, Decimal("0")) for name in ("Cart", "Spring", "Welcome")
    }


def test_journey_performance_of_a_persona(shop: Shop) -> None:
    assert journeys(Filters(MARCH.start, MARCH.end, segment=shop.persona.pk)) == {
        "Cart": (2, 1, 0, 0.5, 2, 0, 3, Decimal("116.50")),
        "Spring": (0, 0, 0, None, 0, 0, 0, Decimal("0")),
        "Welcome": (0, 0, 0, None, 2, 1, 0, Decimal("0")),
    }


# --- Cadences --------------------------------------------------------------------------------


def enroll(cadence: Cadence, started: datetime, outcome: str = "", **values: Any) -> Enrollment:
    n = next(_serial)
    qualified = values.pop("qualified_at", started)
    assert isinstance(qualified, datetime)
    return Enrollment.objects.create(
        contact=values.pop("contact", None) or mql(n),
        cadence=cadence,
        version=cadence.live,
        qualified_at=qualified,
        started_at=started,
        status=Enrollment.Status.ENDED if outcome else Enrollment.Status.ACTIVE,
        outcome=outcome,
        key=f"test:{n}",
        **values,
    )


@dataclass
class Cadences:
    fast: Cadence
    slow: Cadence
    old: Cadence
    idle: Cadence
    persona: Segment


@pytest.fixture
def cadences() -> Cadences:
    """Fast and Slow take the same leads (same rank and rules: an A/B test); Old is
    archived since; Idle got no lead."""
    fast, slow = published("Fast"), published("Slow")
    idle = published("Idle", rank=50, rules={"sources": ["google / cpc"]})
    old = published("Old", rank=10)
    touched = {"first_touch_at": at(10, 13)}
    f1 = enroll(fast, at(10), "qualified", **touched)
    f2 = enroll(fast, at(10), "ordered", **touched)
    enroll(fast, at(10), "replied", **touched)
    enroll(fast, at(10), "not_interested", **touched)
    enroll(fast, at(10))
    f6 = enroll(fast, at(10), **touched)
    Touch.objects.create(
        enrollment=f6,
        contact=f6.contact,
        step=1,
        kind="call",
        disposition=Touch.Disposition.MEETING,
        key=f"test:{next(_serial)}",
    )
    enroll(fast, LAST_SECOND)
    enroll(fast, NEXT_DAY, "qualified", **touched)
    enroll(fast, DAY_BEFORE, "qualified", **touched)
    s1 = enroll(slow, at(11), "qualified", **touched)
    enroll(slow, at(11), "bad_lead")
    enroll(slow, at(11))
    enroll(slow, at(11), "unsubscribed", **touched)
    enroll(old, at(12), "qualified", **touched)
    Cadence.objects.filter(pk=old.pk).update(status=Cadence.Status.ARCHIVED)
    return Cadences(fast, slow, old, idle, persona(f1.contact, f2.contact, s1.contact))


def test_cadence_performance_with_the_a_b_test(cadences: Cadences) -> None:
    rows = {row.name: row for row in sel.cadence_performance(MARCH)}

    assert list(rows) == ["Old", "Idle", "Fast", "Slow"]  # by rank, then name
    fast, slow, idle, old = rows["Fast"], rows["Slow"], rows["Idle"], rows["Old"]
    assert fast.cadence_id == cadences.fast.pk
    figures = ("started", "contacted", "replied", "meetings", "qualified", "ordered", "converted")
    assert [getattr(fast, f) for f in figures] == [7, 5, 1, 1, 1, 1, 2]
    assert [getattr(slow, f) for f in figures] == [4, 2, 0, 0, 1, 0, 1]
    assert fast.outcomes == {
        "": 3,
        "replied": 1,
        "ordered": 1,
        "qualified": 1,
        "unsubscribed": 0,
        "bounced": 0,
        "wrong_number": 0,
        "not_interested": 1,
        "bad_lead": 0,
        "stopped": 0,
        "finished": 0,
    }
    assert (fast.contacted_rate, fast.reply_rate, fast.meeting_rate) == pytest.approx(
        (5 / 7, 1 / 7, 1 / 7)
    )
    assert (fast.qualified_rate, fast.conversion_rate) == pytest.approx((1 / 7, 2 / 7))
    assert (slow.conversion_rate, old.conversion_rate) == (0.25, 1.0)
    assert (old.status, old.started) == ("archived", 1)
    # A cadence without leads: zeros and "—".
    assert (idle.started, idle.conversion_rate, idle.contacted_rate) == (0, None, None)
    # Fast and Slow share rank and rules: one A/B group, Fast (2/7) the reference.
    assert (fast.ab_group, fast.reference, fast.p_value) == (1, True, None)
    assert (slow.ab_group, slow.reference) == (1, False)
    assert slow.p_value == pytest.approx(two_proportion_p(2, 7, 1, 4))
    assert slow.significant is False
    assert idle.ab_group is None and old.ab_group is None and idle.p_value is None


def test_cadence_performance_of_a_persona_and_an_empty_period(cadences: Cadences) -> None:
    rows = {
        r.name: r
        for r in sel.cadence_performance(
            Filters(MARCH.start, MARCH.end, segment=cadences.persona.pk)
        )
    }
    # Old, archived, had none of the persona's leads: not listed.
    assert {name: (r.started, r.converted, r.conversion_rate) for name, r in rows.items()} == {
        "Idle": (0, 0, None),
        "Fast": (2, 2, 1.0),
        "Slow": (1, 1, 1.0),
    }
    empty = sel.cadence_performance(JANUARY)
    assert [r.name for r in empty] == ["Idle", "Fast", "Slow"]  # active ones, no archived
    assert all(r.started == 0 and r.conversion_rate is None for r in empty)


def test_cadence_figures_agree_with_the_team_board(cadences: Cadences) -> None:
    scope = BoardScope(start=at(1, 0), end=NEXT_DAY, now=NOW)
    board = {
        r.cadence_id: (r.started, r.qualified, r.meetings)
        for r in selectors_team.cadence_comparison(scope)
    }
    mine = {
        r.cadence_id: (r.started, r.qualified, r.meetings)
        for r in sel.cadence_performance(MARCH)
        if r.started
    }
    assert mine == board and len(mine) == 3


# --- Speed to lead ---------------------------------------------------------------------------

Q0 = at(10, 9)  # most leads qualify then
SPEED_NOW = at(1, 0, 10, month=4)  # Lead j's SLA is not decided yet


@pytest.fixture
def leads() -> dict[str, Enrollment]:
    cadence = published("Fast")
    delays = {
        "a": 5 * MIN,  # the edges are inclusive: ≤ 5 min
        "b": 5 * MIN + timedelta(seconds=1),
        "c": 15 * MIN,
        "d": 30 * MIN,  # exactly at the SLA deadline: in time
        "e": 31 * MIN,
        "f": timedelta(hours=2),
        "g": timedelta(days=1),
        "h": timedelta(days=3),
        "i": None,  # never touched, deadline passed
    }
    made = {
        name: enroll(
            cadence,
            Q0,
            qualified_at=Q0,
            first_touch_at=Q0 + delay if delay is not None else None,
            sla_due_at=Q0 + 30 * MIN,
        )
        for name, delay in delays.items()
    }
    made["j"] = enroll(cadence, LAST_SECOND, sla_due_at=LAST_SECOND + 30 * MIN)  # not due yet
    made["m"] = enroll(cadence, Q0, first_touch_at=Q0 + 10 * MIN)  # no SLA
    enroll(cadence, NEXT_DAY, first_touch_at=NEXT_DAY + MIN, sla_due_at=NEXT_DAY + 30 * MIN)
    enroll(cadence, DAY_BEFORE, first_touch_at=DAY_BEFORE + MIN, sla_due_at=DAY_BEFORE + 30 * MIN)
    return made


def buckets(result: sel.SpeedToLead) -> dict[str, int]:
    return {b.key: b.leads for b in result.buckets}


def test_speed_to_lead(leads: dict[str, Enrollment]) -> None:
    with time_machine.travel(SPEED_NOW, tick=False):
        result = sel.speed_to_lead(MARCH)

    assert (result.qualified, result.touched, result.untouched) == (11, 9, 2)
    assert buckets(result) == {
        "m5": 1,
        "m15": 3,
        "m30": 1,
        "m60": 1,
        "d1": 2,
        "later": 1,
        "untouched": 2,
    }
    assert [b.share for b in result.buckets] == pytest.approx(
        [n / 11 for n in (1, 3, 1, 1, 2, 1, 2)]
    )
    assert [b.seed_reach_rate for b in result.buckets] == [7.1, 12.3, 14.3, 13.0, 5.4, None, None]
    assert result.buckets[0].label == "≤ 5 min"
    # Minutes of the 9 touched: 5, 5.02, 10, 15, 30, 31, 120, 1440, 4320 (interpolated).
    assert (result.median_minutes, result.p75_minutes, result.p90_minutes) == pytest.approx(
        (30.0, 120.0, 1440 + 0.2 * (4320 - 1440))
    )
    # SLA: a-h touched and i past its deadline are decided; a-d were in time; j is not due
    # yet and m has no SLA.
    assert (result.sla_hit, result.sla_decided, result.sla_missed) == (4, 9, 5)
    assert result.sla_rate == pytest.approx(4 / 9)


def test_speed_to_lead_agrees_with_the_team_board(leads: dict[str, Enrollment]) -> None:
    with time_machine.travel(SPEED_NOW, tick=False):
        mine = sel.speed_to_lead(MARCH)
        board = selectors_team.speed_to_lead(
            BoardScope(start=at(1, 0), end=NEXT_DAY, now=SPEED_NOW)
        )
    assert board.qualified == mine.qualified
    assert [b.leads for b in board.buckets] == [b.leads for b in mine.buckets]
    assert board.median_seconds is not None
    assert board.median_seconds / 60 == pytest.approx(mine.median_minutes)
    assert (board.sla_hit, board.sla_decided) == (mine.sla_hit, mine.sla_decided)


def test_speed_to_lead_of_a_persona_and_an_empty_period(leads: dict[str, Enrollment]) -> None:
    group = persona(leads["a"].contact, leads["e"].contact, leads["i"].contact)
    with time_machine.travel(SPEED_NOW, tick=False):
        result = sel.speed_to_lead(Filters(MARCH.start, MARCH.end, segment=group.pk))
        empty = sel.speed_to_lead(JANUARY)
    assert (result.qualified, result.touched, result.untouched) == (3, 2, 1)
    assert result.median_minutes == pytest.approx(18.0)  # of 5 and 31
    assert (result.sla_hit, result.sla_decided, result.sla_rate) == (1, 3, pytest.approx(1 / 3))
    assert (empty.qualified, empty.median_minutes, empty.p90_minutes, empty.sla_rate) == (
        0,
        None,
        None,
        None,
    )
    assert all(b.leads == 0 and b.share is None for b in empty.buckets)


# --- Surveys ---------------------------------------------------------------------------------


def answer(survey: Survey, score: int, when: datetime, contact: Contact | None = None) -> None:
    SurveyAnswer.objects.create(
        survey=survey,
        contact=contact or ContactFactory(),
        request_key=f"test:{next(_serial)}",
        score=score,
        answered_at=when,
    )


def new_survey(name: str, kind: str) -> Survey:
    return Survey.objects.create(name=name, kind=kind, question="?", thank_you="Thanks")


@pytest.fixture
def surveys() -> dict[str, Any]:
    """March 2026 begins on a Sunday: its weeks start on Feb 23, Mar 2, 9, 16, 23 and 30."""
    ann = ContactFactory()
    after = new_survey("After delivery", Survey.Kind.NPS)
    post = new_survey("Post-purchase", Survey.Kind.NPS)
    support = new_survey("Support", Survey.Kind.CSAT)
    answer(after, 10, FIRST_SECOND, ann)
    answer(after, 9, at(3))
    answer(after, 8, at(3))
    answer(after, 6, at(10))
    answer(after, 10, at(31, 23, 59))
    answer(after, 10, NEXT_DAY)  # April
    answer(after, 0, DAY_BEFORE)  # February
    answer(post, 10, at(10))
    answer(post, 7, at(10))
    answer(post, 3, at(17))
    answer(support, 5, at(2), ann)
    answer(support, 4, at(2))
    answer(support, 3, at(9))
    answer(support, 1, at(9))
    return {"after": after, "post": post, "support": support, "persona": persona(ann)}


def nps(score: sel.NpsScore) -> tuple[Any, ...]:
    return (score.answers, score.promoters, score.passives, score.detractors, score.nps)


def csat(score: sel.CsatScore) -> tuple[Any, ...]:
    return (score.answers, score.satisfied, score.csat, score.average)


def test_survey_scores(surveys: dict[str, Any]) -> None:
    result = sel.survey_scores(MARCH)

    # 8 NPS answers: 4 promoters, 2 passives, 2 detractors: 50 % - 25 % = 25 points.
    assert nps(result.nps) == (8, 4, 2, 2, 25.0)
    assert csat(result.csat) == (4, 2, 50.0, 3.25)
    assert [
        (w.week, nps(w.nps)[0], w.nps.nps, w.csat.answers, w.csat.csat) for w in result.weeks
    ] == [
        (date(2026, 2, 23), 1, 100.0, 0, None),  # only Sunday March 1
        (date(2026, 3, 2), 2, 50.0, 2, 100.0),
        (date(2026, 3, 9), 3, 0.0, 2, 0.0),
        (date(2026, 3, 16), 1, -100.0, 0, None),
        (date(2026, 3, 23), 0, None, 0, None),  # no answer: a gap, not 0
        (date(2026, 3, 30), 1, 100.0, 0, None),  # 23:59 on the 31st
    ]
    by_name = {s.name: s for s in result.surveys}
    assert list(by_name) == ["After delivery", "Post-purchase", "Support"]
    after, post, support = by_name.values()
    assert after.survey_id == surveys["after"].pk and after.csat is None
    assert after.nps is not None and nps(after.nps) == (5, 3, 1, 1, 40.0)
    assert post.nps is not None and nps(post.nps) == (3, 1, 1, 1, 0.0)
    assert support.kind == "csat" and support.nps is None
    assert support.csat is not None and csat(support.csat) == (4, 2, 50.0, 3.25)


def test_survey_scores_of_a_persona_and_an_empty_period(surveys: dict[str, Any]) -> None:
    mine = sel.survey_scores(Filters(MARCH.start, MARCH.end, segment=surveys["persona"].pk))
    assert nps(mine.nps) == (1, 1, 0, 0, 100.0)
    assert csat(mine.csat) == (1, 1, 100.0, 5.0)
    empty = sel.survey_scores(JANUARY)
    assert nps(empty.nps) == (0, 0, 0, 0, None) and csat(empty.csat) == (0, 0, None, None)
    assert empty.surveys == [] and len(empty.weeks) == 5  # Dec 29, Jan 5, 12, 19, 26
    assert all(w.nps.nps is None and w.csat.csat is None for w in empty.weeks)


# --- The reporting time zone -----------------------------------------------------------------


def test_days_are_read_in_the_reporting_time_zone(settings) -> None:  # type: ignore[no-untyped-def]
    """March in Shanghai (UTC+8) runs from Feb 28 16:00 to Mar 31 16:00 UTC."""
    settings.GROWTH_REPORTING_TIME_ZONE = "Asia/Shanghai"
    nps_survey = new_survey("NPS", Survey.Kind.NPS)
    answer(nps_survey, 10, at(31, 15, 59))  # 23:59 on March 31 in Shanghai: in
    answer(nps_survey, 0, at(31, 16))  # 00:00 on April 1 in Shanghai: out
    answer(nps_survey, 10, at(28, 16, month=2))  # 00:00 on March 1 in Shanghai: in
    answer(nps_survey, 0, at(28, 15, 59, 59, month=2))  # still February there: out
    answer(nps_survey, 6, at(1, 17))  # Monday 01:00 in Shanghai (Sunday in UTC)
    cadence = published("Fast")
    enroll(cadence, at(31, 15, 59), first_touch_at=at(31, 16, 1))  # in, 2 minutes
    enroll(cadence, at(31, 16), first_touch_at=at(31, 16, 1))  # out

    result = sel.survey_scores(MARCH)
    assert nps(result.nps) == (3, 2, 0, 1, pytest.approx(100 / 3))
    assert [(w.week, w.nps.answers) for w in result.weeks if w.nps.answers] == [
        (date(2026, 2, 23), 1),
        (date(2026, 3, 2), 1),
        (date(2026, 3, 30), 1),
    ]
    speed = sel.speed_to_lead(MARCH)
    assert (speed.qualified, speed.median_minutes) == (1, pytest.approx(2.0))


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Asia/Shanghai", date(2026, 3, 1)),
        ("America/Havana", date(2024, 11, 3)),  # midnight happens twice
        ("America/Sao_Paulo", date(2018, 11, 4)),  # midnight never happens
        ("Europe/Berlin", date(2026, 3, 29)),
    ],
)
def test_python_and_postgresql_cut_days_at_the_same_instant(zone: str, day: date) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::date::timestamp AT TIME ZONE %s", [day, zone])
        expected = cursor.fetchone()[0]
    assert sel.local_midnight(day, ZoneInfo(zone)) == expected


# --- The contact filters ---------------------------------------------------------------------


def test_sql_and_orm_contact_filters_select_the_same_contacts() -> None:
    people = [
        ContactFactory(source_channel="google / cpc", first_touch={"utm_campaign": "spring"}),
        ContactFactory(source_channel="google / organic"),
        ContactFactory(source_channel="google"),
        ContactFactory(source_channel="googleads / cpc", first_touch={"utm_campaign": "spring"}),
        ContactFactory(source_channel="g%_ / cpc"),
        ContactFactory(source_channel=""),
    ]
    group = persona(people[0], people[3], exited=(people[1],))
    cases = {
        Filters(MARCH.start, MARCH.end): {0, 1, 2, 3, 4, 5},
        Filters(MARCH.start, MARCH.end, source="google"): {0, 1, 2},
        Filters(MARCH.start, MARCH.end, source="g%_"): {4},
        Filters(MARCH.start, MARCH.end, channel="google / cpc"): {0},
        Filters(MARCH.start, MARCH.end, campaign="spring"): {0, 3},
        Filters(MARCH.start, MARCH.end, segment=group.pk): {0, 3},
        Filters(MARCH.start, MARCH.end, source="google", segment=group.pk): {0},
    }
    for filters, expected in cases.items():
        wanted = {people[i].pk for i in expected}
        orm = set(
            Contact.objects.filter(sel._contacts_q(filters, path="")).values_list("pk", flat=True)
        )
        where, params = sel._contacts_sql(filters, "c.id")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT c.id FROM leads_contact c WHERE TRUE {where}", params)  # noqa: S608
            raw = {row[0] for row in cursor.fetchall()}
        assert orm == raw == wanted, filters


# --- Every selector: "—" for nothing, and a fixed number of queries -------------------------

SELECTORS: dict[str, tuple[Callable[[Filters], Any], int]] = {
    "message_rates": (sel.message_rates, 1),
    "message_rates_by_journey": (sel.message_rates_by_journey, 1),
    "journey_performance": (sel.journey_performance, 1),
    "cadence_performance": (sel.cadence_performance, 2),
    "speed_to_lead": (sel.speed_to_lead, 1),
    "survey_scores": (sel.survey_scores, 1),
}


def grow(n: int) -> None:
    """n more of everything in March: messages, journey runs and orders, enrollments,
    survey answers, in a new journey, cadence and survey each time."""
    tag = next(_serial)
    shop_source = SourceFactory(kind=Source.Kind.SHOPIFY)
    cart = journey(f"Journey {tag}")
    cadence = published(f"Cadence {tag}")
    nps_survey = new_survey(f"Survey {tag}", Survey.Kind.NPS)
    for i in range(n):
        contact = ContactFactory()
        message(contact, at(3 + i % 20), "clicked", journey=cart, clicked=True)
        message(contact, at(3 + i % 20), "delivered", channel="sms", delivered=True)
        run(cart, contact, at(3 + i % 20), "converted", at(4 + i % 20))
        order(shop_source, contact, at(3 + i % 20, 13), "10.00")
        enroll(cadence, at(3 + i % 20), "qualified", first_touch_at=at(3 + i % 20, 12, 7))
        answer(nps_survey, i % 11, at(3 + i % 20), contact)


def plain(value: Any) -> Any:
    """Results as nested tuples of plain values, to compare two readings."""
    if isinstance(value, list):
        return tuple(plain(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return tuple(plain(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, dict):
        return tuple(sorted((k, plain(v)) for k, v in value.items()))
    return value


def figures(value: Any, name: str = "") -> Iterator[tuple[str, Any]]:
    """Every (field name, value) in a result, however nested."""
    if isinstance(value, list):
        for item in value:
            yield from figures(item, name)
    elif hasattr(value, "__dataclass_fields__"):
        for f in fields(value):
            yield from figures(getattr(value, f.name), f.name)
    else:
        yield name, value


@pytest.mark.parametrize("name", list(SELECTORS))
def test_an_empty_database_gives_no_value_never_an_error(name: str) -> None:
    selector, _queries = SELECTORS[name]
    computed = [
        (field, value)
        for field, value in figures(selector(MARCH))
        if isinstance(value, float) and field != "seed_reach_rate"  # the seed's, not ours
    ]
    assert computed == []  # every rate, time and score is None: the page shows "—"


@pytest.mark.parametrize("name", list(SELECTORS))
def test_the_query_count_does_not_grow_with_the_data(name: str, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    selector, queries = SELECTORS[name]
    grow(3)
    with django_assert_num_queries(queries):
        small = plain(selector(MARCH))
    grow(30)
    with django_assert_num_queries(queries):
        large = plain(selector(MARCH))
    assert large != small  # the new rows were read
