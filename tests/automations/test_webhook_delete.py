"""Deleting an outbound webhook subscription: admins only, asked first (what goes: the
delivery log, events not yet delivered), audited; its log goes with it, the other
subscriptions' stay; nothing more is sent to it, whether the rows were due, already handed
to a send task, or next in a task that is halfway through; such a task does nothing and
does not fail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from automations import providers, webhooks_out
from automations.models import WebhookDelivery, WebhookSubscription
from automations.services import webhooks as services
from automations.tasks import webhook_deliveries_send_task
from growth.models import AuditEvent
from growth.roles import Role
from tests.automations.test_webhooks import HookStandIn, receiver, subscribe  # noqa: F401
from tests.polling import poll

pytestmark = pytest.mark.django_db

S = WebhookDelivery.Status


def row(
    sub: WebhookSubscription, n: int, status: str = S.PENDING, **fields: Any
) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        subscription=sub,
        event_type="order.created",
        event_id=f"order.created:{n}",
        payload={"id": f"order.created:{n}", "type": "order.created", "data": {"n": n}},
        status=status,
        next_attempt_at=timezone.now() - timedelta(seconds=1)
        if status in (S.PENDING, S.RETRYING)
        else None,
        **fields,
    )


@pytest.fixture
def admin(client_as):  # type: ignore[no-untyped-def]
    return client_as(Role.ADMIN)


@pytest.fixture
def erp(receiver: HookStandIn) -> WebhookSubscription:  # noqa: F811
    sub = subscribe(receiver.hook_url("erp"), "order.created", name="ERP")
    receiver.secrets = [sub.secret]
    return sub


# --- The pages ------------------------------------------------------------------------------


def test_the_page_asks_first_and_says_what_goes(admin, erp):
    row(erp, 1, S.DELIVERED)
    row(erp, 2, S.FAILED)
    row(erp, 3, S.PENDING)
    row(erp, 4, S.RETRYING)
    detail = admin.get(reverse("webhook_detail", args=[erp.pk])).content.decode()
    assert f'href="{reverse("webhook_delete", args=[erp.pk])}"' in detail
    page = admin.get(reverse("webhook_delete", args=[erp.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "Delete “ERP”?" in html
    assert "Its delivery log (4 rows) is deleted with it" in html
    assert "2 events are not delivered yet: they will not be sent." in html
    assert WebhookSubscription.objects.filter(pk=erp.pk).exists()  # asking deletes nothing
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_DELETED).exists()


def test_deleting_takes_its_log_keeps_the_others_and_is_audited(
    client,
    user_with_role,
    erp,
    receiver,  # noqa: F811
):
    other = subscribe(receiver.hook_url("dwh"), "order.created", name="Warehouse")
    for n, status in enumerate((S.DELIVERED, S.FAILED, S.PENDING)):
        row(erp, n, status)
    kept = row(other, 9, S.DELIVERED)
    user = user_with_role(Role.ADMIN)
    client.force_login(user)
    answer = client.post(reverse("webhook_delete", args=[erp.pk]), REMOTE_ADDR="198.51.100.7")
    assert (answer.status_code, answer["Location"]) == (302, reverse("webhooks"))
    assert not WebhookSubscription.objects.filter(pk=erp.pk).exists()
    assert list(WebhookDelivery.objects.all()) == [kept]
    event = AuditEvent.objects.get(action=AuditEvent.Action.WEBHOOK_DELETED)
    assert event.actor == user and event.ip == "198.51.100.7"
    assert event.target == f"webhook {erp.pk}: ERP"
    assert event.detail == {
        "subscription_id": erp.pk,
        "url": erp.url,
        "event_types": ["order.created"],
        "deliveries": {"pending": 1, "retrying": 0, "delivered": 1, "failed": 1},
    }
    listing = client.get(answer["Location"]).content.decode()
    assert "Subscription ERP deleted with its delivery log" in listing
    assert "Warehouse" in listing and f'href="{reverse("webhook_detail", args=[erp.pk])}"' not in (
        listing
    )
    assert "webhook subscription deleted" in client.get(reverse("audit")).content.decode()


@pytest.mark.parametrize("role", [Role.MARKETER, Role.REP, Role.SALES_MANAGER, Role.MANAGER])
def test_only_admins_delete(client_as, role, erp):
    row(erp, 1)
    client = client_as(role)
    url = reverse("webhook_delete", args=[erp.pk])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert WebhookSubscription.objects.filter(pk=erp.pk).exists()
    assert WebhookDelivery.objects.count() == 1


def test_a_subscription_gone_already_is_a_404_not_a_500(admin, erp):
    done = row(erp, 1, S.FAILED)
    url = reverse("webhook_delete", args=[erp.pk])
    assert admin.post(url).status_code == 302
    assert admin.post(url).status_code == 404  # a second click, another tab
    assert admin.get(url).status_code == 404
    redeliver = reverse("webhook_redeliver", kwargs={"pk": erp.pk, "delivery_pk": done.pk})
    assert admin.post(redeliver).status_code == 404
    assert AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_DELETED).count() == 1


def test_the_service_refuses_a_subscription_deleted_meanwhile(erp):
    from django.core.exceptions import ValidationError

    stale = WebhookSubscription.objects.get(pk=erp.pk)
    services.subscription_delete(subscription=erp, actor=None)
    with pytest.raises(ValidationError, match="deleted already"):
        services.subscription_delete(subscription=stale, actor=None)


# --- Nothing more is sent -------------------------------------------------------------------


def test_due_rows_are_not_claimed_and_a_queued_task_sends_nothing(erp, receiver):  # noqa: F811
    due = [row(erp, n).pk for n in range(3)]
    services.subscription_delete(subscription=erp, actor=None)
    assert services.webhook_deliveries_dispatch() == []
    # A send task queued before the deletion, run after it (the task itself; a real worker
    # runs one at the end of this file).
    webhook_deliveries_send_task(due)
    assert services.webhook_deliveries_send(due) == []
    assert receiver.hooks == []


def test_a_send_task_halfway_through_sends_none_of_the_rest(erp, receiver, monkeypatch):  # noqa: F811
    """The subscription is deleted while the task POSTs its first row: the rest stay unsent."""
    ids = [row(erp, n).pk for n in range(3)]
    real_post = providers.webhook_signed_post

    def post_then_delete(**kwargs: Any) -> Any:
        answer = real_post(**kwargs)
        if WebhookSubscription.objects.filter(pk=erp.pk).exists():
            services.subscription_delete(subscription=erp, actor=None)
        return answer

    monkeypatch.setattr(providers, "webhook_signed_post", post_then_delete)
    services.webhook_deliveries_send(ids)
    assert [h.delivery for h in receiver.hooks] == [str(ids[0])]
    assert not WebhookDelivery.objects.exists()


def test_a_paused_subscription_mid_task_is_left_alone_too(erp, receiver, monkeypatch):  # noqa: F811
    ids = [row(erp, n).pk for n in range(2)]
    real_post = providers.webhook_signed_post

    def post_then_pause(**kwargs: Any) -> Any:
        answer = real_post(**kwargs)
        WebhookSubscription.objects.filter(pk=erp.pk).update(is_active=False)
        return answer

    monkeypatch.setattr(providers, "webhook_signed_post", post_then_pause)
    services.webhook_deliveries_send(ids)
    assert len(receiver.hooks) == 1
    assert WebhookDelivery.objects.get(pk=ids[1]).status == S.PENDING  # sent once turned on


def test_new_events_no_longer_go_to_it(erp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_delete(subscription=erp, actor=None)
    assert not webhooks_out.wanted("order.created")  # the cached types forgot it


# --- A real worker --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_deleted_subscriptions_task_without_failing(
    receiver,  # noqa: F811
    celery_worker,
):
    gone = subscribe(receiver.hook_url("gone"), "order.created", name="Gone")
    live = subscribe(receiver.hook_url("live"), "order.created", name="Live")
    receiver.secrets = [gone.secret, live.secret]
    queued = [row(gone, n).pk for n in range(2)]
    services.subscription_delete(subscription=gone, actor=None)
    later = row(live, 9)
    with transaction.atomic():  # the same queue, one after the other
        transaction.on_commit(lambda: webhook_deliveries_send_task.delay(queued))
        transaction.on_commit(lambda: webhook_deliveries_send_task.delay([later.pk]))
    assert poll(lambda: WebhookDelivery.objects.get(pk=later.pk).status == S.DELIVERED, 30)
    assert [h.path for h in receiver.hooks] == ["/hooks/live"]
