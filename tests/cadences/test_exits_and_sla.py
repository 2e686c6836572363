"""An enrollment ends on a reply by SMS and on a hard bounce; the SLA reminds the rep before
the deadline, alerts the managers when it is missed and hands the lead to a working rep."""

from __future__ import annotations

from datetime import timedelta

import pytest

from automations.models import Delivery, TeamTask
from cadences.models import Enrollment
from cadences.services.enrollment import enrollment_start, sla_policy
from cadences.services.queue import touch_record
from cadences.services.sla import sla_sweep
from tests.automations.test_provider_events import TOKEN, twilio_post
from tests.cadences.helpers import NOW, mql, published, rep
from tests.leads.factories import IdentityFactory
from tests.leads.helpers import process_all

pytestmark = pytest.mark.django_db
E = Enrollment


@pytest.fixture
def run_tasks_here(monkeypatch):  # type: ignore[no-untyped-def]
    """The receivers' tasks run in this process, as a worker would run them."""
    from cadences.tasks import enrollments_end_task

    monkeypatch.setattr(enrollments_end_task, "delay", enrollments_end_task.run)


def test_an_sms_reply_ends_the_enrollment(
    client, settings, run_tasks_here, django_capture_on_commit_callbacks
):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    lead = mql(phone="+4915112345678")
    IdentityFactory(contact=lead, kind="phone", value="+4915112345678")
    enrollment_start(contact=lead, key="k", cadence=published(), assign=False, now=NOW)
    twilio_post(
        client,
        "/webhooks/twilio/inbound/",
        {
            "MessageSid": "SMr1",
            "From": "+4915112345678",
            "To": "+1500",
            "Body": "Yes, call me at 5",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        process_all()
    ended = E.objects.get()
    assert (ended.status, ended.outcome) == (E.Status.ENDED, E.Outcome.REPLIED)


def test_a_hard_bounce_ends_the_enrollment(run_tasks_here, django_capture_on_commit_callbacks):
    from automations.provider_events import _unreachable

    lead = mql()
    enrollment_start(contact=lead, key="k", cadence=published(), assign=False, now=NOW)
    delivery = Delivery.objects.create(
        key="d",
        contact=lead,
        channel="email",
        purpose="sales",
        scheduled_for=NOW,
        due_at=NOW,
        to_address=lead.email,
    )
    with django_capture_on_commit_callbacks(execute=True):
        _unreachable(delivery, "hard_bounce")
    assert E.objects.get().outcome == E.Outcome.BOUNCED


def test_the_sla_reminds_then_alerts_and_reassigns_once():
    cadence = published()
    slow, other = rep(), rep()
    lead = mql(first_name="Lia")
    enrollment = enrollment_start(contact=lead, key="k", cadence=cadence, rep=slow, now=NOW)
    assert enrollment.sla_due_at == NOW + timedelta(minutes=30)
    assert sla_sweep(now=NOW + timedelta(minutes=5)) == {
        "reminded": 0,
        "missed": 0,
        "reassigned": 0,
    }
    assert sla_sweep(now=NOW + timedelta(minutes=22))["reminded"] == 1
    assert sla_sweep(now=NOW + timedelta(minutes=23))["reminded"] == 0  # once
    reminder = TeamTask.objects.get(origin="sla", assignee=slow.user)
    assert "Lia" in reminder.title and "8 min" in reminder.title
    assert Delivery.objects.get(origin="sla").to_address == slow.user.email
    swept = sla_sweep(now=NOW + timedelta(minutes=31))
    assert swept == {"reminded": 0, "missed": 1, "reassigned": 1}
    assert TeamTask.objects.get(role="sales_manager").title.startswith("SLA missed")
    assert E.objects.get().rep == other
    assert sla_sweep(now=NOW + timedelta(minutes=40))["missed"] == 0


def test_a_touch_in_time_keeps_the_sla_and_no_reassignment_when_the_policy_says_so():
    policy = sla_policy()
    policy.reassign = False
    policy.save()
    cadence = published()
    me = rep()
    rep()
    kept = enrollment_start(contact=mql(1), key="a", cadence=cadence, rep=me, now=NOW)
    late = enrollment_start(contact=mql(2), key="b", cadence=cadence, rep=me, now=NOW)
    touch_record(
        rep=me,
        enrollment_id=kept.pk,
        disposition="connected",
        key="t",
        now=NOW + timedelta(minutes=10),
    )
    assert sla_sweep(now=NOW + timedelta(hours=1)) == {"reminded": 0, "missed": 1, "reassigned": 0}
    late.refresh_from_db()
    assert late.rep == me and late.sla_missed_at is not None


def inbound_email(
    client,
    sender: str,
    subject: str,
    *,
    auth: str | None = "inbound:s3cret",
    extra_headers: str = "",
):  # type: ignore[no-untyped-def]
    import base64

    headers = {}
    if auth:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return client.post(
        "/webhooks/sendgrid/inbound/",
        {
            "headers": f"From: {sender}\nTo: sales@reply.shop.example\nSubject: {subject}\n{extra_headers}",
            "from": sender,
            "to": "sales@reply.shop.example",
            "subject": subject,
            "text": "Sounds good, call me tomorrow.",
            "envelope": '{"from": "x@example.com", "to": ["sales@reply.shop.example"]}',
        },
        **headers,
    )


@pytest.fixture
def inbound_secret(settings):  # type: ignore[no-untyped-def]
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "inbound:s3cret"}


def test_an_email_reply_ends_the_enrollment_but_an_out_of_office_does_not(
    client, inbound_secret, run_tasks_here, django_capture_on_commit_callbacks
):
    lead = mql(email="Ada@Example.com")
    enrollment_start(contact=lead, key="k", cadence=published(), assign=False, now=NOW)
    assert (
        inbound_email(client, "Ada <ada@example.com>", "Out of office until Monday").status_code
        == 200
    )
    with django_capture_on_commit_callbacks(execute=True):
        process_all()
    assert E.objects.get().status == E.Status.ACTIVE
    assert inbound_email(client, "Ada <ada@example.com>", "Re: Quick question").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        process_all()
    ended = E.objects.get()
    assert (ended.status, ended.outcome) == (E.Status.ENDED, E.Outcome.REPLIED)


def test_inbound_email_needs_the_credentials(client, settings, inbound_secret):
    assert inbound_email(client, "a@example.com", "Hi", auth=None).status_code == 401
    assert inbound_email(client, "a@example.com", "Hi", auth="inbound:wrong").status_code == 401
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}
    assert inbound_email(client, "a@example.com", "Hi").status_code == 401
    from leads.models import InboundDelivery

    assert not InboundDelivery.objects.exists()


def test_a_missed_sla_stays_with_the_rep_who_missed_it_after_the_lead_is_reassigned():
    from cadences.selectors_team import BoardScope, rep_rows

    cadence = published()
    slow, quick = rep(), rep()
    missed = enrollment_start(contact=mql(1), key="a", cadence=cadence, rep=slow, now=NOW)
    sla_sweep(now=NOW + timedelta(minutes=31))  # missed: handed to the other rep
    assert E.objects.get(pk=missed.pk).rep == quick
    touch_record(
        rep=quick,
        enrollment_id=missed.pk,
        disposition="connected",
        key="late",
        now=NOW + timedelta(minutes=40),
    )
    kept = enrollment_start(contact=mql(2), key="b", cadence=cadence, rep=quick, now=NOW)
    touch_record(
        rep=quick,
        enrollment_id=kept.pk,
        disposition="connected",
        key="t",
        now=NOW + timedelta(minutes=5),
    )
    scope = BoardScope(
        start=NOW - timedelta(days=1), end=NOW + timedelta(days=1), now=NOW + timedelta(hours=1)
    )
    rows = {row.rep_id: row for row in rep_rows(scope).rows}
    assert (rows[slow.pk].sla_hit, rows[slow.pk].sla_decided) == (0, 1)
    assert (rows[quick.pk].sla_hit, rows[quick.pk].sla_decided) == (1, 1)
