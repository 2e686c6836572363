"""Lifecycle stages: recorded changes with their cause, orders → customer stages, windows
that move contacts back, merges that keep history, and moves by hand from the contact page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from growth.roles import Role
from leads import signals
from leads.models import Contact, LifecycleSettings, StageChange
from leads.services.identity import contact_merge
from leads.services.lifecycle import (
    StageMove,
    lifecycle_orders_apply,
    lifecycle_settings_get,
    lifecycle_windows_apply,
    stage_change,
    stage_changes_apply,
    stage_move_by_user,
)
from leads.services.reactions import batch_react
from tests.factories import UserFactory
from tests.leads.factories import ContactFactory, EventFactory, OrderFactory
from tests.leads.helpers import post_shopify, process_all
from tests.leads.payloads import shopify_order

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
Cause = StageChange.Cause


def stage_of(contact: Contact) -> str:
    return Contact.objects.values_list("lifecycle_stage", flat=True).get(pk=contact.pk)


def changes(contact: Contact) -> list[tuple[str, str, str]]:
    return list(
        StageChange.objects.filter(contact=contact)
        .order_by("at", "id")
        .values_list("from_stage", "to_stage", "cause_kind")
    )


@pytest.fixture
def received():
    """Every stage_changed signal sent, as (contact_id, from, to, cause)."""
    seen: list[tuple[int, str, str, str]] = []

    def receiver(sender, contact_id, from_stage, to_stage, cause, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((contact_id, from_stage, to_stage, cause))

    signals.stage_changed.connect(receiver)
    yield seen
    signals.stage_changed.disconnect(receiver)


# --- One change, many changes ---------------------------------------------------------------


def test_stage_change_writes_row_and_stage_and_signals_on_commit(
    received, django_capture_on_commit_callbacks
):
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        change = stage_change(
            contact=contact, to_stage="lead", cause_kind=Cause.IMPORT, detail="file.csv row 2"
        )
        assert received == []  # nothing before commit
    for callback in callbacks:
        callback()
    assert change is not None
    assert (change.from_stage, change.to_stage, change.cause_kind) == (
        "subscriber",
        "lead",
        "import",
    )
    assert change.cause_detail == "file.csv row 2" and not change.backward
    assert stage_of(contact) == "lead" and contact.lifecycle_stage == "lead"
    assert received == [(contact.pk, "subscriber", "lead", "import")]


def test_moving_to_the_stage_held_records_nothing():
    contact = ContactFactory(lifecycle_stage="lead")
    assert stage_change(contact=contact, to_stage="lead", cause_kind=Cause.EVENT) is None
    assert not StageChange.objects.exists()


def test_unknown_stage_is_refused_with_the_field():
    with pytest.raises(ValidationError) as error:
        stage_change(contact=ContactFactory(), to_stage="hot", cause_kind=Cause.EVENT)
    assert "to_stage" in error.value.message_dict


def test_a_move_by_hand_needs_a_reason_and_records_the_actor():
    contact, user = ContactFactory(lifecycle_stage="mql"), UserFactory()
    with pytest.raises(ValidationError) as error:
        stage_move_by_user(contact=contact, to_stage="lead", actor=user, reason="  ")
    assert "reason" in error.value.message_dict
    change = stage_move_by_user(contact=contact, to_stage="lead", actor=user, reason="not ready")
    assert (change.cause_kind, change.actor, change.reason, change.backward) == (
        "user",
        user,
        "not ready",
        True,
    )
    with pytest.raises(ValidationError) as error:
        stage_move_by_user(contact=contact, to_stage="lead", actor=user, reason="again")
    assert "to_stage" in error.value.message_dict


def test_set_based_moves_skip_stale_expectations_and_use_constant_queries(
    django_assert_num_queries,
):
    contacts = ContactFactory.create_batch(30)
    stale = ContactFactory(lifecycle_stage="sql")
    moves = [
        StageMove(c.pk, "mql", Cause.DEFINITION, "d", from_stage="subscriber") for c in contacts
    ]
    moves.append(StageMove(stale.pk, "mql", Cause.DEFINITION, "d", from_stage="lead"))
    with django_assert_num_queries(4):  # savepoint, lock, update + insert, release
        moved = stage_changes_apply(moves=moves)
    assert {m.contact_id for m in moved} == {c.pk for c in contacts}
    assert Contact.objects.filter(lifecycle_stage="mql").count() == 30
    assert stage_of(stale) == "sql"


# --- Orders ---------------------------------------------------------------------------------


def test_orders_make_customers_then_repeat_customers_then_vip():
    lifecycle_settings_get()
    contact = ContactFactory(lifecycle_stage="sql")
    pending = OrderFactory(contact=contact, status="pending", total=Decimal("50"))
    lifecycle_orders_apply(contact_ids=[contact.pk])
    assert stage_of(contact) == "sql"  # an unpaid order is not a purchase

    first = OrderFactory(contact=contact, status="paid", total=Decimal("100"))
    batch_react(contact_ids=[contact.pk])
    assert stage_of(contact) == "customer"
    change = StageChange.objects.get(contact=contact)
    assert (change.cause_kind, change.order_id) == ("order", first.pk)
    assert "1 paid orders" in change.cause_detail

    OrderFactory(contact=contact, status="fulfilled", total=Decimal("200"))
    batch_react(contact_ids=[contact.pk])
    assert stage_of(contact) == "repeat_customer"

    OrderFactory(
        contact=contact, status="paid", total=Decimal("900"), refunded_total=Decimal("100")
    )
    batch_react(contact_ids=[contact.pk])
    assert stage_of(contact) == "vip"  # 100 + 200 + 800 net ≥ 1000
    assert pending.pk not in StageChange.objects.values_list("order_id", flat=True)
    assert [c[1] for c in changes(contact)] == ["customer", "repeat_customer", "vip"]


def test_vip_threshold_is_a_setting():
    LifecycleSettings.objects.update_or_create(pk=1, defaults={"vip_min_revenue": Decimal("50")})
    contact = ContactFactory()
    OrderFactory(contact=contact, status="paid", total=Decimal("60"))
    lifecycle_orders_apply(contact_ids=[contact.pk])
    assert stage_of(contact) == "vip"


def test_a_shop_order_through_the_pipeline_makes_a_customer(client, shopify_source):
    post_shopify(client, shopify_source, "orders/create", shopify_order(), webhook_id="w1")
    with time_machine.travel(datetime(2026, 11, 21, tzinfo=UTC)):
        process_all()
    contact = Contact.objects.get(email="bob.norman@example.com")
    assert contact.lifecycle_stage == "customer"
    assert StageChange.objects.get(contact=contact).cause_kind == "order"


# --- Windows --------------------------------------------------------------------------------


def test_buyers_who_stop_buying_become_at_risk_then_churned():
    lifecycle_settings_get()  # defaults: at risk after 90 days, churned after 180
    with time_machine.travel(NOW, tick=False):
        buyer = ContactFactory()
        OrderFactory(contact=buyer, status="paid", placed_at=NOW)
        recent = ContactFactory()
        OrderFactory(contact=recent, status="paid", placed_at=NOW + timedelta(days=80))
        lifecycle_orders_apply(contact_ids=[buyer.pk])
    assert stage_of(buyer) == "customer"

    with time_machine.travel(NOW + timedelta(days=89), tick=False):
        assert lifecycle_windows_apply() == {}
    with time_machine.travel(NOW + timedelta(days=91), tick=False):
        assert lifecycle_windows_apply() == {"customer->at_risk": 1}
        assert lifecycle_windows_apply() == {}  # idempotent
    with time_machine.travel(NOW + timedelta(days=181), tick=False):
        assert lifecycle_windows_apply() == {"at_risk->churned": 1}
    change = StageChange.objects.filter(contact=buyer).latest("at")
    assert (change.cause_kind, change.backward) == ("window", True)
    assert "no order for 181 days" in change.cause_detail
    assert stage_of(recent) == "subscriber"  # the beat never promotes; orders do

    # A new order brings a churned buyer back.
    with time_machine.travel(NOW + timedelta(days=200), tick=False):
        OrderFactory(contact=buyer, status="paid", placed_at=NOW + timedelta(days=200))
        lifecycle_orders_apply(contact_ids=[buyer.pk])
    assert stage_of(buyer) == "repeat_customer"


def test_idle_mqls_and_sqls_fall_back():
    lifecycle_settings_get()  # MQL → lead after 30 idle days, SQL → MQL after 60
    with time_machine.travel(NOW, tick=False):
        mql, busy_mql, sql = ContactFactory(), ContactFactory(), ContactFactory()
        for contact, stage in ((mql, "mql"), (busy_mql, "mql"), (sql, "sql")):
            stage_change(contact=contact, to_stage=stage, cause_kind=Cause.EVENT)
    EventFactory(contact=busy_mql, occurred_at=NOW + timedelta(days=20))
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        assert lifecycle_windows_apply() == {"mql->lead": 1}
    with time_machine.travel(NOW + timedelta(days=61), tick=False):
        assert lifecycle_windows_apply() == {"sql->mql": 1, "mql->lead": 1}
    assert (stage_of(mql), stage_of(busy_mql), stage_of(sql)) == ("lead", "lead", "mql")
    assert StageChange.objects.filter(contact=sql).latest("at").cause_detail == (
        "no activity for 60 days"
    )


def test_zero_days_turns_a_window_off():
    LifecycleSettings.objects.update_or_create(
        pk=1, defaults={"mql_inactive_days": 0, "sql_inactive_days": 0}
    )
    with time_machine.travel(NOW, tick=False):
        contact = ContactFactory()
        stage_change(contact=contact, to_stage="mql", cause_kind=Cause.EVENT)
    with time_machine.travel(NOW + timedelta(days=400), tick=False):
        assert lifecycle_windows_apply() == {}


# --- Merges ---------------------------------------------------------------------------------


def test_merge_keeps_both_histories_and_the_more_advanced_stage(received):
    survivor, merged = ContactFactory(), ContactFactory()
    stage_change(contact=survivor, to_stage="lead", cause_kind=Cause.IMPORT)
    stage_change(contact=merged, to_stage="mql", cause_kind=Cause.EVENT)
    stage_change(contact=merged, to_stage="sql", cause_kind=Cause.EVENT)
    contact_merge(survivor=survivor, merged=merged, reason="same person")
    survivor.refresh_from_db()
    assert survivor.lifecycle_stage == "sql"
    assert changes(survivor) == [
        ("subscriber", "lead", "import"),
        ("subscriber", "mql", "event"),
        ("mql", "sql", "event"),
        ("lead", "sql", "merge"),
    ]
    assert not StageChange.objects.filter(contact=merged).exists()


def test_merge_into_a_more_advanced_survivor_keeps_its_stage():
    survivor, merged = ContactFactory(lifecycle_stage="customer"), ContactFactory()
    stage_change(contact=merged, to_stage="mql", cause_kind=Cause.EVENT)
    contact_merge(survivor=survivor, merged=merged, reason="same person")
    survivor.refresh_from_db()
    assert survivor.lifecycle_stage == "customer"
    assert [c[2] for c in changes(survivor)] == ["event"]


# --- Contact page ---------------------------------------------------------------------------


def test_contact_page_shows_the_stage_with_why_and_the_timeline_entry(client_as):
    contact = ContactFactory()
    stage_move_by_user(
        contact=contact,
        to_stage="sql",
        actor=UserFactory(first_name="Sam"),
        reason="asked for a quote",
    )
    body = (
        client_as(Role.SALES_MANAGER)
        .get(reverse("contact_detail", args=[contact.pk]))
        .content.decode()
    )
    assert 'data-testid="stage-current">SQL<' in body
    why = body.split('data-testid="stage-why"')[1].split("</p>")[0]
    assert "Moved by hand" in why and "moved by Sam" in why and "asked for a quote" in why
    timeline = body.split('data-testid="timeline"')[1]
    assert 'data-kind="stages"' in timeline and "Subscriber → SQL" in timeline
    assert 'data-testid="stage-move-form"' in body


def test_only_people_who_work_leads_or_edit_definitions_get_the_stage_actions(client_as):
    contact = ContactFactory()
    body = (
        client_as(Role.MANAGER).get(reverse("contact_detail", args=[contact.pk])).content.decode()
    )
    assert 'data-testid="stage-panel"' in body and 'data-testid="stage-move-form"' not in body
    response = client_as(Role.MANAGER).post(
        reverse("contact_stage_move", args=[contact.pk]), {"to_stage": "lead", "reason": "x"}
    )
    assert response.status_code == 403
    assert stage_of(contact) == "subscriber"


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.MARKETER])
def test_moving_a_stage_by_hand_from_the_contact_page(client_as, role):
    contact = ContactFactory(lifecycle_stage="mql")
    client = client_as(role)
    url = reverse("contact_stage_move", args=[contact.pk])
    response = client.post(
        url, {"to_stage": "opportunity", "reason": "demo booked"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("contact_detail", args=[contact.pk])
    change = StageChange.objects.get(contact=contact)
    assert (change.to_stage, change.cause_kind, change.reason) == (
        "opportunity",
        "user",
        "demo booked",
    )
    assert change.actor is not None


def test_a_move_without_reason_shows_the_error_next_to_the_field(client_as):
    contact = ContactFactory()
    client = client_as(Role.SALES_MANAGER)
    url = reverse("contact_stage_move", args=[contact.pk])
    response = client.post(url, {"to_stage": "lead", "reason": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps the panel with the error in it
    body = response.content.decode()
    reason_field = body.split('<label for="id_reason">')[1].split("</div>")[0]
    assert "Say why you move this contact" in reason_field
    assert stage_of(contact) == "subscriber"
    # Without htmx: back to the page, the error as a message.
    response = client.post(url, {"to_stage": "lead", "reason": ""}, follow=True)
    assert "Say why you move this contact" in response.content.decode()


def test_recording_purchase_intent_from_the_contact_page(client_as):
    contact = ContactFactory(lifecycle_stage="mql")
    response = client_as(Role.SALES_MANAGER).post(
        reverse("contact_purchase_intent", args=[contact.pk]), {"note": "needs 20"}
    )
    assert response.status_code == 302
    assert stage_of(contact) == "sql"
    assert contact.events.get().properties["note"] == "needs 20"


# --- Lifecycle windows page -------------------------------------------------------------


def settings_post(row: LifecycleSettings, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "vip_min_revenue": row.vip_min_revenue,
        "at_risk_after_days": row.at_risk_after_days,
        "churned_after_days": row.churned_after_days,
        "mql_inactive_days": row.mql_inactive_days,
        "sql_inactive_days": row.sql_inactive_days,
        "version": row.version,
    }
    return data | changes


def test_lifecycle_windows_page_saves_validates_and_detects_conflicts(
    client_as, django_assert_max_num_queries
):
    row = lifecycle_settings_get()
    client = client_as(Role.MARKETER)
    url = reverse("lifecycle_settings")
    with django_assert_max_num_queries(8):
        assert client.get(url).status_code == 200

    response = client.post(url, settings_post(row, churned_after_days=30))
    assert response.status_code == 400
    field = response.content.decode().split('for="id_churned_after_days"')[1].split("</div>")[0]
    assert "Churned must come after at risk" in field

    assert client.post(url, settings_post(row, at_risk_after_days=60)).status_code == 302
    saved = LifecycleSettings.objects.get()
    assert (saved.at_risk_after_days, saved.version) == (60, 2)

    stale = settings_post(row, at_risk_after_days=45)  # still version 1
    response = client.post(url, stale)
    assert response.status_code == 409
    assert 'data-testid="conflict"' in response.content.decode()
    assert LifecycleSettings.objects.get().at_risk_after_days == 60
    assert client.post(url, stale | {"version": 2}).status_code == 302  # saving again overwrites


def test_rep_without_scoring_rights_cannot_open_the_windows(client_as):
    assert client_as(Role.REP).get(reverse("lifecycle_settings")).status_code == 403


def test_a_rep_records_purchase_intent_from_the_queue_and_returns_there(client, user_with_role):
    from cadences.models import Rep
    from cadences.services.enrollment import enrollment_start
    from tests.cadences.helpers import published

    contact = ContactFactory(lifecycle_stage="mql")
    user = user_with_role(Role.REP)  # reps work the queue; they need no contact list
    enrollment_start(
        contact=contact, key="k", cadence=published(), rep=Rep.objects.create(user=user)
    )
    client.force_login(user)
    url = reverse("contact_purchase_intent", args=[contact.pk])
    response = client.post(url, {"note": "", "next": "/queue/"})
    assert (response.status_code, response["Location"]) == (302, "/queue/")
    assert stage_of(contact) == "sql"
    response = client.post(url, {"next": "https://evil.example/"})
    assert response["Location"] == reverse("contact_detail", args=[contact.pk])


def test_export_holds_the_stage_history_and_erasure_removes_what_people_wrote():
    from leads.services.privacy import contact_erase, contact_export_document

    contact = ContactFactory()
    stage_move_by_user(contact=contact, to_stage="lead", actor=UserFactory(), reason="met at fair")
    document = contact_export_document(contact)
    assert [(c["to_stage"], c["reason"]) for c in document["stage_changes"]] == [
        ("lead", "met at fair")
    ]
    contact_erase(contact=contact, origin="test")
    change = StageChange.objects.get(contact=contact)
    assert (change.to_stage, change.reason, change.cause_detail) == ("lead", "", "")
