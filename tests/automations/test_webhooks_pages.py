"""The webhook pages: only admins (MANAGE_SOURCES) open them; the list with the latest
outcome and recent failures, the form with its errors next to the fields, the secret
behind a reveal, rotation (audited), a test event, and the delivery log with filters and
redelivery, in a fixed number of queries."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from automations.models import WebhookDelivery, WebhookSubscription
from automations.services import webhooks as services
from growth.models import AuditEvent
from growth.roles import Role

pytestmark = pytest.mark.django_db

S = WebhookDelivery.Status
_ids = itertools.count(1)


@pytest.fixture
def admin(client_as):  # type: ignore[no-untyped-def]
    return client_as(Role.ADMIN)


def subscription(name: str = "ERP", **fields) -> WebhookSubscription:  # type: ignore[no-untyped-def]
    return services.subscription_create(
        name=name,
        url=fields.pop("url", "https://erp.example.com/hooks"),
        event_types=fields.pop("event_types", ["order.created", "delivery.*"]),
        actor=None,
    )


def logged(sub: WebhookSubscription, status: str = S.DELIVERED, **fields) -> WebhookDelivery:  # type: ignore[no-untyped-def]
    n = next(_ids)
    event_type = fields.pop("event_type", "order.created")
    return WebhookDelivery.objects.create(
        subscription=sub,
        event_type=event_type,
        event_id=f"{event_type}:{n}",
        payload={"id": f"{event_type}:{n}", "type": event_type, "data": {"order": {"id": n}}},
        status=status,
        attempts=1,
        last_status_code=200 if status == S.DELIVERED else 503,
        last_error="" if status == S.DELIVERED else "erp.example.com had a server error",
        **fields,
    )


def form_data(**changes: object) -> dict[str, object]:
    return {
        "name": "Warehouse",
        "url": "https://dwh.example.com/growth",
        "event_types": ["contact.stage_changed", "order.created"],
        "is_active": "on",
        **changes,
    }


@pytest.mark.parametrize("role", [Role.MARKETER, Role.REP, Role.SALES_MANAGER, Role.MANAGER])
def test_only_admins_open_any_webhook_page(client_as, role):
    sub = subscription()
    row = logged(sub)
    client = client_as(role)
    for url in (
        "/settings/webhooks/",
        "/settings/webhooks/new/",
        f"/settings/webhooks/{sub.pk}/",
        f"/settings/webhooks/{sub.pk}/edit/",
    ):
        assert client.get(url).status_code == 403, url
    for url in (
        f"/settings/webhooks/{sub.pk}/rotate/",
        f"/settings/webhooks/{sub.pk}/test/",
        f"/settings/webhooks/{sub.pk}/deliveries/{row.pk}/redeliver/",
    ):
        assert client.post(url).status_code == 403, url
    sub.refresh_from_db()
    assert sub.previous_secret == "" and WebhookDelivery.objects.count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/settings/webhooks/").status_code == 302


def test_the_list_shows_the_latest_outcome_and_failures_in_a_day(admin):
    erp = subscription("ERP")
    logged(erp, S.DELIVERED)
    logged(erp, S.FAILED)
    old = logged(erp, S.FAILED)
    WebhookDelivery.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    logged(erp, S.RETRYING)
    subscription("Quiet", url="https://quiet.example.com/h")
    page = admin.get("/settings/webhooks/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "ERP" in html and "Quiet" in html and "none yet" in html
    rows = html.split('data-testid="webhook-row"')[1:]
    erp_row = next(r for r in rows if "ERP" in r)
    assert 'data-testid="failures"><a class="error"' in erp_row and ">2</a>" in erp_row
    assert "retrying" in erp_row  # the newest row's status


def test_the_list_is_in_the_navigation_and_says_how_to_start(admin):
    page = admin.get("/settings/webhooks/")
    assert 'data-section="webhooks"' in page.content.decode()
    assert "Create a subscription" in page.content.decode()


def test_the_list_costs_the_same_queries_for_2_and_20_subscriptions(
    admin, django_assert_max_num_queries
):
    for n in range(2):
        logged(subscription(f"S{n}"))
    with django_assert_max_num_queries(12) as few:
        admin.get("/settings/webhooks/")
    for n in range(2, 20):
        logged(subscription(f"S{n}"))
    with django_assert_max_num_queries(len(few)):
        assert admin.get("/settings/webhooks/").content.decode().count("webhook-row") == 20


def test_creating_a_subscription_and_its_errors_next_to_the_fields(admin, settings):
    settings.DEBUG = False
    answer = admin.post(
        "/settings/webhooks/new/", form_data(url="http://dwh.example.com/growth", event_types=[])
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'class="field has-error"' in html
    assert "Choose at least one event." in html
    assert not WebhookSubscription.objects.exists()

    answer = admin.post("/settings/webhooks/new/", form_data(url="http://dwh.example.com/growth"))
    html = answer.content.decode()
    assert answer.status_code == 200 and "Use an https:// URL" in html
    url_field = html.split('for="id_url"')[1].split('class="field')[0]
    assert "Use an https:// URL" in url_field  # next to the URL, not at the top
    assert not WebhookSubscription.objects.exists()

    answer = admin.post("/settings/webhooks/new/", form_data(event_types=["order.created", "x"]))
    assert answer.status_code == 200 and not WebhookSubscription.objects.exists()

    answer = admin.post("/settings/webhooks/new/", form_data())
    created = WebhookSubscription.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/settings/webhooks/{created.pk}/"
    assert created.event_types == ["contact.stage_changed", "order.created"]
    assert created.secret.startswith("whsec_") and created.created_by is not None


def test_the_form_groups_events_as_checkboxes(admin):
    html = admin.get("/settings/webhooks/new/").content.decode()
    assert html.count('type="checkbox" name="event_types"') == 17  # 16 events and delivery.*
    for group in ("Contacts", "Segments", "Orders", "Deliveries", "Engagement"):
        assert group in html


def test_editing_keeps_the_secret_and_can_turn_it_off(admin):
    sub = subscription()
    secret = sub.secret
    answer = admin.post(
        f"/settings/webhooks/{sub.pk}/edit/",
        form_data(name="ERP 2", event_types=["delivery.*"], is_active=""),
    )
    assert answer.status_code == 302
    sub.refresh_from_db()
    assert (sub.name, sub.event_types, sub.is_active, sub.secret) == (
        "ERP 2",
        ["delivery.*"],
        False,
        secret,
    )
    assert admin.get("/settings/webhooks/999999/edit/").status_code == 404


def test_the_secret_is_behind_a_reveal_with_a_copy_button_and_never_cached(admin):
    sub = subscription()
    page = admin.get(f"/settings/webhooks/{sub.pk}/")
    html = page.content.decode()
    reveal = html.split('data-testid="secret-reveal"')[1].split("</details>")[0]
    assert sub.secret in reveal and 'data-copy="#webhook-secret"' in reveal
    assert html.count(sub.secret) == 1
    assert "no-store" in page["Cache-Control"]


def test_rotating_is_audited_and_the_old_secret_is_kept_for_a_day(admin):
    sub = subscription()
    old = sub.secret
    assert admin.get(f"/settings/webhooks/{sub.pk}/rotate/").status_code == 405
    answer = admin.post(f"/settings/webhooks/{sub.pk}/rotate/", follow=True)
    assert answer.status_code == 200
    sub.refresh_from_db()
    assert sub.secret != old and sub.previous_secret == old
    assert sub.previous_secret_expires_at is not None
    assert (
        timedelta(hours=23) < sub.previous_secret_expires_at - timezone.now() <= timedelta(hours=24)
    )
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_SECRET_ROTATED)
    assert event.actor is not None and event.target.startswith(f"webhook {sub.pk}")
    html = answer.content.decode()
    assert 'data-testid="grace"' in html and "New secret made" in html


def test_send_test_event_records_a_ping_for_this_subscription(admin):
    sub = subscription()
    answer = admin.post(f"/settings/webhooks/{sub.pk}/test/")
    assert answer.status_code == 302
    [ping] = WebhookDelivery.objects.all()
    assert ping.event_type == "ping" and ping.subscription_id == sub.pk
    assert ping.status == S.PENDING


def test_the_log_filters_by_status_and_event_and_expands_each_row(admin):
    sub = subscription()
    ok = logged(sub, S.DELIVERED)
    bad = logged(sub, S.FAILED, event_type="delivery.bounced")
    other = logged(subscription("Other", url="https://o.example.com/h"), S.FAILED)
    html = admin.get(f"/settings/webhooks/{sub.pk}/").content.decode()
    assert html.count('data-testid="log-row"') == 2 and f"delivery-{other.pk}" not in html
    failed = admin.get(f"/settings/webhooks/{sub.pk}/?status=failed").content.decode()
    assert f'id="delivery-{bad.pk}"' in failed and f'id="delivery-{ok.pk}"' not in failed
    row = failed.split(f'id="delivery-{bad.pk}"')[1].split("</details>")[0]
    assert "503" in row and "server error" in row and "&quot;delivery.bounced" in row
    assert "redeliver" in row
    by_event = admin.get(f"/settings/webhooks/{sub.pk}/?event_type=order.created").content
    assert f'id="delivery-{ok.pk}"'.encode() in by_event
    assert f'id="delivery-{bad.pk}"'.encode() not in by_event
    odd = admin.get(f"/settings/webhooks/{sub.pk}/?status=nonsense&before=x")
    assert odd.status_code == 200 and b"were not understood" in odd.content


def test_the_log_pages_by_id_and_costs_a_fixed_number_of_queries(
    admin, django_assert_max_num_queries, monkeypatch
):
    from automations import selectors_webhooks

    monkeypatch.setattr(selectors_webhooks, "PAGE_SIZE", 5)
    sub = subscription()
    made = [logged(sub) for _ in range(3)]
    with django_assert_max_num_queries(12) as few:
        admin.get(f"/settings/webhooks/{sub.pk}/")
    made += [logged(sub, S.FAILED) for _ in range(9)]
    with django_assert_max_num_queries(len(few)):
        first = admin.get(f"/settings/webhooks/{sub.pk}/").content.decode()
    assert first.count('data-testid="log-row"') == 5
    assert f"before={made[7].pk}" in first
    second = admin.get(f"/settings/webhooks/{sub.pk}/?before={made[7].pk}").content.decode()
    assert second.count('data-testid="log-row"') == 5
    assert f'id="delivery-{made[6].pk}"' in second and f'id="delivery-{made[7].pk}"' not in second


def test_redeliver_any_row_now(admin):
    sub = subscription()
    done = logged(sub, S.FAILED, next_attempt_at=None)
    answer = admin.post(f"/settings/webhooks/{sub.pk}/deliveries/{done.pk}/redeliver/")
    assert answer.status_code == 302 and answer["Location"].endswith(f"#delivery-{done.pk}")
    done.refresh_from_db()
    assert done.status == S.PENDING and done.attempts == 0 and done.next_attempt_at is not None
    other = subscription("Other", url="https://o.example.com/h")
    assert (
        admin.post(f"/settings/webhooks/{other.pk}/deliveries/{done.pk}/redeliver/").status_code
        == 404
    )
    assert (
        admin.get(f"/settings/webhooks/{sub.pk}/deliveries/{done.pk}/redeliver/").status_code == 405
    )
