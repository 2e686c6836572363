"""The provider layer against the stand-in: the real anymail SendGrid backend and the real
twilio client over HTTP, nothing mocked.

Decision on bad credentials: a 401 raises `ProviderMisconfigured`, a subclass of
`ProviderRejected` (retrying cannot help; an admin must fix the settings: SettingsWrapper)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from pytest_django.fixtures import Settings as SettingsWrapper

from automations import providers
from automations.providers import (
    ProviderMisconfigured,
    ProviderRejected,
    ProviderResult,
    ProviderRetry,
    retry_after_seconds,
)
from tests.automations.conftest import STANDIN_FROM_NUMBER
from tests.standin import StandIn, sendgrid_errors

pytestmark = pytest.mark.filterwarnings(
    "ignore:django-anymail has dropped official support for SendGrid"
)

TO_PHONE = "+14155550123"


def send_email(**overrides: object) -> ProviderResult:
    fields: dict[str, object] = {
        "to": "ann@example.com",
        "subject": "Your cart misses you",
        "text": "Come back, Ann.",
        "html": "<p>Come back, <b>Ann</b>.</p>",
        "key": "run-7:node-3",
    }
    fields.update(overrides)
    return providers.email_send(**fields)  # type: ignore[arg-type]


# --- e-mail ---------------------------------------------------------------------------------


def test_email_is_accepted_and_recorded_as_sent(standin_settings: StandIn) -> None:
    result = send_email(
        headers={
            "List-Unsubscribe": "<https://shop.example/u/abc>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        tags=["journey", "abandoned-cart"],
    )

    [email] = standin_settings.emails
    assert email.to == ("ann@example.com",)
    assert email.from_email == "hello@shop.example"
    assert email.from_name == "Growth Shop"
    assert email.subject == "Your cart misses you"
    assert email.text == "Come back, Ann."
    assert email.html == "<p>Come back, <b>Ann</b>.</p>"
    assert email.headers == {
        "List-Unsubscribe": "<https://shop.example/u/abc>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert email.custom_args["growth-key"] == "run-7:node-3"
    assert email.key == "run-7:node-3"
    assert email.categories == ("journey", "abandoned-cart")
    assert email.send_at is None
    # anymail's own id rides along as a custom arg; it is what its tracking webhooks report.
    assert set(email.custom_args) == {"growth-key", "anymail_id"}
    assert result == ProviderResult(
        provider="sendgrid",
        message_id=email.custom_args["anymail_id"],
        status="queued",
        outbox=False,
        provider_message_id=email.message_id,
    )
    assert len(email.message_id) == 22


def test_email_without_html_sends_text_only(standin_settings: StandIn) -> None:
    send_email(html=None, from_email="Sales <sales@shop.example>")

    [email] = standin_settings.emails
    assert email.html is None
    assert email.text == "Come back, Ann."
    assert [block["type"] for block in email.payload["content"]] == ["text/plain"]
    assert (email.from_email, email.from_name) == ("sales@shop.example", "Sales")


def test_each_accepted_email_gets_its_own_message_id(standin_settings: StandIn) -> None:
    results = [send_email(key=f"k{i}") for i in range(3)]

    ids = [email.message_id for email in standin_settings.emails]
    assert len(set(ids)) == 3
    assert [r.provider_message_id for r in results] == ids
    assert len({r.message_id for r in results}) == 3


def test_email_bad_api_key_is_misconfigured(
    standin_settings: StandIn, settings: SettingsWrapper
) -> None:
    settings.ANYMAIL = {**settings.ANYMAIL, "SENDGRID_API_KEY": "SG.wrong"}

    with pytest.raises(ProviderMisconfigured) as caught:
        send_email()

    assert isinstance(caught.value, ProviderRejected)
    assert caught.value.status_code == 401
    assert caught.value.reason == (
        "SendGrid refused Growth's credentials (HTTP 401): The provided authorization grant "
        "is invalid, expired, or revoked. Check SENDGRID_API_KEY."
    )
    assert standin_settings.emails == []
    assert [r.status for r in standin_settings.requests] == [401]


def test_email_429_with_retry_after_seconds(standin_settings: StandIn) -> None:
    standin_settings.fail_next(1, status=429, retry_after=2, provider="sendgrid")

    with pytest.raises(ProviderRetry) as caught:
        send_email()

    assert caught.value.retry_after == 2.0
    assert caught.value.status_code == 429
    assert caught.value.maybe_sent is False
    assert caught.value.reason == (
        "SendGrid is limiting the send rate (HTTP 429): too many requests"
    )
    assert standin_settings.emails == []
    send_email()  # the fault was for one request only
    assert len(standin_settings.emails) == 1


def test_email_429_with_retry_after_http_date(standin_settings: StandIn) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    standin_settings.fail_next(status=429, retry_after=format_datetime(when, usegmt=True))

    with pytest.raises(ProviderRetry) as caught:
        send_email()

    assert caught.value.retry_after is not None
    assert 27.0 <= caught.value.retry_after <= 30.0


def test_email_429_with_sendgrid_rate_limit_reset(standin_settings: StandIn) -> None:
    standin_settings.fail_next(status=429, rate_limit_reset=time.time() + 60)

    with pytest.raises(ProviderRetry) as caught:
        send_email()

    assert caught.value.retry_after is not None
    assert 57.0 <= caught.value.retry_after <= 60.0


@pytest.mark.parametrize(
    ("status", "message"), [(500, "internal server error"), (503, "service unavailable")]
)
def test_email_server_errors_are_retried(
    standin_settings: StandIn, status: int, message: str
) -> None:
    standin_settings.fail_next(2, status=status)

    for _ in range(2):
        with pytest.raises(ProviderRetry) as caught:
            send_email()
        assert caught.value.retry_after is None
        assert caught.value.reason == (f"SendGrid had a server error (HTTP {status}): {message}")
    send_email()
    assert len(standin_settings.emails) == 1
    assert [r.status for r in standin_settings.requests] == [status, status, 202]


def test_email_connection_refused_is_retried(standin_settings: StandIn) -> None:
    send_email(key="before")  # a pooled keep-alive connection now exists
    host = f"127.0.0.1:{standin_settings.port}"
    standin_settings.stop()

    with pytest.raises(ProviderRetry) as caught:
        send_email(key="after")

    assert caught.value.retry_after is None
    assert caught.value.maybe_sent is False
    assert caught.value.reason == (
        f"Could not connect to SendGrid at {host} (connection refused or host not found)."
    )


def test_email_timeout_is_retried_and_may_have_been_sent(
    standin_settings: StandIn, settings: SettingsWrapper
) -> None:
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 0.3}
    standin_settings.delay(1.0)

    with pytest.raises(ProviderRetry) as caught:
        send_email()

    assert caught.value.maybe_sent is True
    assert caught.value.reason == (
        "SendGrid did not answer within 0.3 s; the message may or may not have been taken."
    )
    # Like a real provider, the stand-in still took the message after the client gave up.
    assert standin_settings.wait_for(emails=1, timeout=5)


def test_email_lost_answer_then_retry_shows_as_duplicate(standin_settings: StandIn) -> None:
    standin_settings.lose_response_next(provider="sendgrid")

    with pytest.raises(ProviderRetry) as caught:
        send_email(key="run-1:node-1")
    assert caught.value.maybe_sent is True
    send_email(key="run-1:node-1")

    [duplicate] = standin_settings.duplicates()
    assert (duplicate.provider, duplicate.key, duplicate.count) == ("sendgrid", "run-1:node-1", 2)
    assert [r.status for r in standin_settings.requests] == [None, 202]


def test_email_400_is_rejected_with_the_providers_message(standin_settings: StandIn) -> None:
    with pytest.raises(ProviderRejected) as caught:
        send_email(tags=[f"tag-{i}" for i in range(11)])

    assert not isinstance(caught.value, ProviderMisconfigured)
    assert caught.value.status_code == 400
    assert caught.value.reason == (
        "SendGrid rejected the message (HTTP 400): Too many categories. The max is 10. (categories)"
    )
    assert standin_settings.emails == []


def test_email_400_with_several_errors_lists_them_all(standin_settings: StandIn) -> None:
    standin_settings.fail_next(
        status=400,
        body=sendgrid_errors(
            ("The from email does not contain a valid address.", "from.email"),
            ("Invalid type. Expected: string, given: integer.", "custom_args.n"),
        ),
    )

    with pytest.raises(ProviderRejected) as caught:
        send_email()

    assert caught.value.reason == (
        "SendGrid rejected the message (HTTP 400): The from email does not contain a valid "
        "address. (from.email); Invalid type. Expected: string, given: integer. (custom_args.n)"
    )


def test_email_invalid_address_is_rejected_before_any_request(standin_settings: StandIn) -> None:
    with pytest.raises(ProviderRejected) as caught:
        send_email(to="not-an-address")

    assert caught.value.reason.startswith(
        "The e-mail could not be sent: Invalid email address 'not-an-address'"
    )
    assert standin_settings.requests == []


def test_email_without_provider_goes_to_the_configured_backend(
    standin: StandIn, settings: SettingsWrapper
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SENDGRID_API_KEY = ""

    result = send_email(headers={"List-Unsubscribe": "<https://shop.example/u/abc>"})

    [message] = mail.outbox
    assert result.outbox is True
    assert result.provider == "outbox"
    assert result.status == "outbox"
    assert result.message_id == message.extra_headers["Message-ID"]
    assert result.message_id.startswith("<") and result.message_id.endswith(">")
    assert message.extra_headers["X-Growth-Key"] == "run-7:node-3"
    assert message.extra_headers["List-Unsubscribe"] == "<https://shop.example/u/abc>"
    assert message.to == ["ann@example.com"]
    assert isinstance(message, EmailMultiAlternatives)
    assert message.alternatives[0][0] == "<p>Come back, <b>Ann</b>.</p>"
    assert standin.requests == []


def test_email_anymail_without_api_key_is_misconfigured(
    standin: StandIn, settings: SettingsWrapper
) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    del settings.SENDGRID_API_KEY
    settings.ANYMAIL = {"SENDGRID_API_URL": standin.sendgrid_api_url}

    with pytest.raises(ProviderMisconfigured) as caught:
        send_email()

    assert caught.value.reason.startswith("E-mail is not configured correctly:")
    assert "SENDGRID_API_KEY" in caught.value.reason
    assert standin.requests == []


# --- SMS ------------------------------------------------------------------------------------


def test_sms_is_accepted_with_segments(standin_settings: StandIn) -> None:
    body = "Your order ships today! Track it: https://shop.example/t/1 " + "x" * 110  # 169 septets

    result = providers.sms_send(
        to=TO_PHONE,
        body=body,
        key="enrollment-4:step-2",
        status_callback="https://growth.example/webhooks/twilio/status",
    )

    [sms] = standin_settings.sms
    assert sms.to == TO_PHONE
    assert sms.from_ == STANDIN_FROM_NUMBER
    assert sms.body == body
    assert sms.key == "enrollment-4:step-2"
    assert sms.status_callback == "https://growth.example/webhooks/twilio/status"
    assert (sms.encoding, sms.num_segments) == ("GSM-7", 2)
    assert sms.sid.startswith("SM") and len(sms.sid) == 34
    assert result == ProviderResult(
        provider="twilio",
        message_id=sms.sid,
        status="queued",
        outbox=False,
        provider_message_id=sms.sid,
        encoding="GSM-7",
        segments=2,
    )


def test_sms_unicode_body_counts_ucs2_segments(standin_settings: StandIn) -> None:
    body = "Danke schön 🎉 " * 5  # 70 UTF-16 code units plus 5 for the emoji pairs: 75

    result = providers.sms_send(to=TO_PHONE, body=body, key="k")

    [sms] = standin_settings.sms
    assert (sms.encoding, sms.num_segments) == ("UCS-2", 2)
    assert (result.encoding, result.segments) == ("UCS-2", 2)


def test_sms_through_a_messaging_service(
    standin_settings: StandIn, settings: SettingsWrapper
) -> None:
    settings.TWILIO_FROM_NUMBER = "MG" + "a" * 32

    result = providers.sms_send(to=TO_PHONE, body="Hi", key="k")

    [sms] = standin_settings.sms
    assert sms.from_ is None
    assert sms.messaging_service_sid == "MG" + "a" * 32
    assert result.status == "accepted"


def test_sms_bad_token_is_misconfigured(
    standin_settings: StandIn, settings: SettingsWrapper
) -> None:
    settings.TWILIO_AUTH_TOKEN = "wrong"

    with pytest.raises(ProviderMisconfigured) as caught:
        providers.sms_send(to=TO_PHONE, body="Hi", key="k")

    assert caught.value.status_code == 401
    assert caught.value.code == "20003"
    assert caught.value.reason == (
        "Twilio refused Growth's credentials (HTTP 401, error 20003): Authenticate. "
        "Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
    )
    assert standin_settings.sms == []


def test_sms_429_with_retry_after(standin_settings: StandIn) -> None:
    standin_settings.fail_next(1, status=429, retry_after=2, provider="twilio")

    with pytest.raises(ProviderRetry) as caught:
        providers.sms_send(to=TO_PHONE, body="Hi", key="k")

    assert caught.value.retry_after == 2.0
    assert caught.value.reason == (
        "Twilio is limiting the send rate (HTTP 429, error 20429): Too Many Requests"
    )
    providers.sms_send(to=TO_PHONE, body="Hi", key="k")
    assert len(standin_settings.sms) == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [(500, "Internal Server Error"), (503, "Service Unavailable")],
)
def test_sms_server_errors_are_retried(
    standin_settings: StandIn, status: int, message: str
) -> None:
    standin_settings.fail_next(status=status, provider="twilio")

    with pytest.raises(ProviderRetry) as caught:
        providers.sms_send(to=TO_PHONE, body="Hi", key="k")

    assert caught.value.retry_after is None
    assert caught.value.status_code == status
    assert caught.value.reason == (
        f"Twilio had a server error (HTTP {status}, error {20000 + status}): {message}"
    )


def test_sms_queue_full_400_is_retried(standin_settings: StandIn) -> None:
    standin_settings.fail_next(
        status=400,
        provider="twilio",
        body={
            "code": 21611,
            "message": "This 'From' number has exceeded the maximum number of queued messages",
            "more_info": "https://www.twilio.com/docs/errors/21611",
            "status": 400,
        },
    )

    with pytest.raises(ProviderRetry) as caught:
        providers.sms_send(to=TO_PHONE, body="Hi", key="k")

    assert caught.value.code == "21611"


def test_sms_connection_refused_is_retried(standin_settings: StandIn) -> None:
    providers.sms_send(to=TO_PHONE, body="Hi", key="before")  # keep-alive connection pooled
    host = f"127.0.0.1:{standin_settings.port}"
    standin_settings.stop()

    with pytest.raises(ProviderRetry) as caught:
        providers.sms_send(to=TO_PHONE, body="Hi", key="after")

    assert caught.value.maybe_sent is False
    assert caught.value.reason == (
        f"Could not connect to Twilio at {host} (connection refused or host not found)."
    )


def test_sms_timeout_is_retried(standin_settings: StandIn, settings: SettingsWrapper) -> None:
    settings.TWILIO_REQUESTS_TIMEOUT = 0.3
    standin_settings.delay(1.0, provider="twilio")

    with pytest.raises(ProviderRetry) as caught:
        providers.sms_send(to=TO_PHONE, body="Hi", key="k")

    assert caught.value.maybe_sent is True
    assert caught.value.reason == (
        "Twilio did not answer within 0.3 s; the message may or may not have been taken."
    )


def test_sms_lost_answer_then_retry_shows_as_duplicate(standin_settings: StandIn) -> None:
    standin_settings.lose_response_next(provider="twilio")

    with pytest.raises(ProviderRetry) as caught:
        providers.sms_send(to=TO_PHONE, body="Hi", key="run-2:node-5")
    assert caught.value.maybe_sent is True
    providers.sms_send(to=TO_PHONE, body="Hi", key="run-2:node-5")

    [duplicate] = standin_settings.duplicates()
    assert (duplicate.provider, duplicate.key, duplicate.count) == ("twilio", "run-2:node-5", 2)


@pytest.mark.parametrize(
    ("to", "body", "reason"),
    [
        (
            "12345",
            "Hi",
            "Twilio rejected the message (HTTP 400, error 21211): Invalid 'To' Phone Number: 12345",
        ),
        (
            "",
            "Hi",
            "Twilio rejected the message (HTTP 400, error 21604): A 'To' phone number is required.",
        ),
        (
            TO_PHONE,
            "",
            "Twilio rejected the message (HTTP 400, error 21602): Message body is required.",
        ),
    ],
)
def test_sms_400_is_rejected_with_the_providers_message(
    standin_settings: StandIn, to: str, body: str, reason: str
) -> None:
    with pytest.raises(ProviderRejected) as caught:
        providers.sms_send(to=to, body=body, key="k")

    assert not isinstance(caught.value, ProviderMisconfigured)
    assert caught.value.status_code == 400
    assert caught.value.reason == reason
    assert standin_settings.sms == []


def test_sms_without_credentials_goes_to_the_outbox_without_a_request(
    standin: StandIn, settings: SettingsWrapper
) -> None:
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_API_BASE_URL = standin.twilio_base_url  # were it used, we would see it

    result = providers.sms_send(to=TO_PHONE, body="Grüße 👋", key="k")

    assert result.outbox is True
    assert result.provider == "outbox"
    assert result.status == "outbox"
    assert result.message_id.startswith("outbox-sms-")
    assert len(result.message_id) == len("outbox-sms-") + 32
    assert (result.encoding, result.segments) == ("UCS-2", 1)
    assert standin.requests == []


def test_sms_without_sender_number_is_misconfigured(
    standin_settings: StandIn, settings: SettingsWrapper
) -> None:
    settings.TWILIO_FROM_NUMBER = ""

    with pytest.raises(ProviderMisconfigured) as caught:
        providers.sms_send(to=TO_PHONE, body="Hi", key="k")

    assert caught.value.reason == (
        "TWILIO_FROM_NUMBER is not set: Growth has no number to send SMS from."
    )
    assert standin_settings.requests == []


# --- under concurrency ----------------------------------------------------------------------


def test_concurrent_sends_are_counted_exactly(standin_settings: StandIn) -> None:
    standin_settings.fail_next(7, status=503, provider="twilio")
    standin_settings.fail_next(5, status=429, retry_after=1, provider="sendgrid")

    def sms(i: int) -> str:
        try:
            providers.sms_send(to=TO_PHONE, body=f"Hi {i}", key=f"sms-{i}")
        except ProviderRetry:
            return "retry"
        return "sent"

    def email(i: int) -> str:
        try:
            send_email(key=f"email-{i}")
        except ProviderRetry:
            return "retry"
        return "sent"

    with ThreadPoolExecutor(max_workers=12) as pool:
        sms_outcomes = list(pool.map(sms, range(40)))
        email_outcomes = list(pool.map(email, range(30)))

    assert sms_outcomes.count("retry") == 7
    assert email_outcomes.count("retry") == 5
    assert len(standin_settings.sms) == 33
    assert len(standin_settings.emails) == 25
    assert len({s.sid for s in standin_settings.sms}) == 33
    assert standin_settings.duplicates() == []


# --- Retry-After parsing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "Thu, 01 Jan 2026 00:00:30 GMT"}, 30.0),
        ({"Retry-After": "Wed, 31 Dec 2025 23:59:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"X-RateLimit-Reset": "1767225645"}, 45.0),
        ({"X-RateLimit-Reset": "5"}, None),  # a count, not a time: unknown meaning
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str] | None, expected: float | None) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert retry_after_seconds(headers, now=now) == expected


# --- the stand-in's own answers (raw HTTP, as the providers document them) ------------------


def test_standin_sendgrid_error_shapes(standin: StandIn) -> None:
    url = standin.sendgrid_api_url + "mail/send"

    missing = requests.post(url, json={}, timeout=5)
    assert missing.status_code == 401
    assert missing.json() == {
        "errors": [{"message": "authorization required", "field": None, "help": None}]
    }

    invalid = requests.post(
        url, json={}, headers={"Authorization": f"Bearer {standin.sendgrid_api_key}"}, timeout=5
    )
    assert invalid.status_code == 400
    assert [e["field"] for e in invalid.json()["errors"]] == [
        "personalizations",
        "from.email",
        "subject",
        "content",
    ]

    accepted = requests.post(
        url,
        json={
            "personalizations": [{"to": [{"email": "a@example.com"}]}],
            "from": {"email": "b@example.com"},
            "subject": "s",
            "content": [{"type": "text/plain", "value": "t"}],
        },
        headers={"Authorization": f"Bearer {standin.sendgrid_api_key}"},
        timeout=5,
    )
    assert accepted.status_code == 202
    assert accepted.content == b""
    assert accepted.headers["X-Message-Id"] == standin.emails[0].message_id


def test_standin_twilio_error_shapes(standin: StandIn) -> None:
    url = (
        f"{standin.twilio_base_url}/2010-04-01/Accounts/{standin.twilio_account_sid}/Messages.json"
    )

    refused = requests.post(
        url, data={"To": TO_PHONE}, auth=(standin.twilio_account_sid, "no"), timeout=5
    )
    assert refused.status_code == 401
    assert refused.json()["code"] == 20003

    no_body = requests.post(
        url,
        data={"To": TO_PHONE, "From": STANDIN_FROM_NUMBER},
        auth=(standin.twilio_account_sid, standin.twilio_auth_token),
        timeout=5,
    )
    assert no_body.status_code == 400
    assert no_body.json() == {
        "code": 21602,
        "message": "Message body is required.",
        "more_info": "https://www.twilio.com/docs/errors/21602",
        "status": 400,
    }
    assert [r.status for r in standin.requests] == [401, 400]


def test_the_proxy_environment_is_read_once_when_the_client_is_made_and_still_honoured(
    standin_settings: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sessions stop scanning the environment on every request, but a proxy configured
    for the worker still applies (and NO_PROXY still exempts the stand-in on 127.0.0.1)."""
    providers._local.__dict__.clear()
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    backend, _provider = providers._email_backend()
    _client, http = providers._twilio_client("AC" + "0" * 32, "token")
    for session in (backend.session, http.session):  # type: ignore[attr-defined]
        assert session.trust_env is False
        assert session.proxies.get("http") == "http://proxy.internal:3128"
    providers._local.__dict__.clear()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert send_email().status  # reaches the stand-in directly
    assert providers._email_backend()[0].session.proxies == {}  # type: ignore[attr-defined]
    providers._local.__dict__.clear()
