"""A journey's webhook step: a signed JSON POST through the delivery machinery, retried
when the receiver is busy, with the key a receiver uses to drop repeats."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from automations.journeys.engine import journey_enroll, journey_publish, runs_dispatch
from automations.models import Delivery, Journey
from automations.services.deliveries import deliveries_dispatch
from automations.services.sending import delivery_send
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 10, 3, tzinfo=UTC)  # night in Berlin: webhooks ignore quiet hours
SECRET = "hook-secret"


class Receiver:
    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "60")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"https://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_WEBHOOK_SECRET = SECRET
    hook = Receiver()
    yield hook
    hook.server.shutdown()


def test_a_webhook_step_posts_signed_json_once_and_retries_a_busy_receiver(receiver, monkeypatch):
    # The graph only accepts https:// URLs; the test receiver speaks plain HTTP.
    import automations.providers as providers

    real_post = providers.requests.post
    monkeypatch.setattr(
        providers.requests,
        "post",
        lambda url, **kw: real_post(url.replace("https://", "http://"), **kw),
    )
    journey = Journey.objects.create(
        name="Tell the ERP",
        draft={
            "nodes": [
                {"id": "t", "type": "trigger", "config": {"kind": "manual"}},
                {"id": "h", "type": "webhook", "config": {"url": receiver.url}},
            ],
            "edges": [{"from": "t", "to": "h", "branch": "next"}],
        },
    )
    journey_publish(journey=journey, version=journey.version, actor=None)
    journey.refresh_from_db()
    anna = ContactFactory(email="anna@example.com", time_zone="Europe/Berlin")
    journey_enroll(journey=journey, contact_ids=[anna.pk], now=T0)
    runs_dispatch(now=T0)

    receiver.answers = [503]
    [claimed] = deliveries_dispatch(now=T0)
    busy = delivery_send(delivery_id=claimed, now=T0)
    assert busy is not None and busy.status == Delivery.Status.SCHEDULED
    assert busy.due_at == T0 + timedelta(seconds=60)
    [again] = deliveries_dispatch(now=busy.due_at)
    sent = delivery_send(delivery_id=again, now=busy.due_at)
    assert sent is not None and sent.status == Delivery.Status.SENT

    assert len(receiver.calls) == 2
    headers, body = receiver.calls[-1]
    payload = json.loads(body)
    assert payload["contact"]["email"] == "anna@example.com" and payload["node"] == "h"
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Growth-Signature"], expected)
    assert headers["X-Growth-Key"] == receiver.calls[0][0]["X-Growth-Key"] == sent.key


def test_without_a_secret_the_step_fails_with_the_reason(settings):
    settings.OUTBOUND_WEBHOOK_SECRET = ""
    from automations.services.deliveries import delivery_schedule

    delivery_schedule(
        key="hook-1",
        contact=None,
        channel="webhook",
        purpose="transactional",
        due_at=T0,
        text="{}",
        to_address="https://example.invalid/hook",
    )
    [claimed] = deliveries_dispatch(now=T0)
    failed = delivery_send(delivery_id=claimed, now=T0)
    assert failed is not None and failed.status == Delivery.Status.FAILED
    assert "OUTBOUND_WEBHOOK_SECRET" in failed.reason
