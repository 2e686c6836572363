"""The only place Growth talks to e-mail and SMS providers.

E-mail goes through Django's mail API and whatever ``EMAIL_BACKEND`` is configured:
django-anymail's SendGrid backend in production (``SENDGRID_API_KEY`` set), a local backend
(console, an outbox) otherwise. SMS goes through the real ``twilio`` client when
``TWILIO_ACCOUNT_SID`` is set. Both providers' base URLs are settings
(``SENDGRID_API_URL`` via ``ANYMAIL``, ``TWILIO_API_BASE_URL``), so tests and benchmarks
point the real clients at a local stand-in (``tests/standin.py``).

Offline (no credentials) Growth still works:

- e-mail is handed to the configured non-provider backend; the result is marked
  ``outbox=True`` and its id is the Message-ID Growth gave the message;
- SMS never touches the network: ``sms_send`` returns ``outbox=True`` with a local id and
  the caller records the message (shown in the outbox UI).

Each send carries the caller's idempotency key: for e-mail as anymail metadata
``growth-key`` (SendGrid ``custom_args``, echoed back in every event webhook), for SMS as an
``X-Growth-Key`` request header (Twilio has no idempotency field for messages; the header is
ignored by Twilio and read by the stand-in to count doubles).

Errors come back classified, with a reason a marketer can read on the delivery:

- ``ProviderRetry``: try again later (HTTP 408/425/429/5xx, Twilio's queue-full error 21611,
  connection refused or reset, timeouts). ``retry_after`` is the provider's ``Retry-After``
  (seconds or HTTP date) or SendGrid's ``X-RateLimit-Reset``, when sent. ``maybe_sent`` is
  true when the request reached the provider but no answer came back (read timeout, dropped
  connection): the provider may have taken the message, so a retry may deliver it twice.
- ``ProviderRejected``: permanent for this message (any other 4xx: bad address or number,
  invalid content). ``ProviderMisconfigured`` (a ``ProviderRejected``) means Growth's own
  settings are wrong (HTTP 401: bad API key / account SID / token, missing sender number,
  anymail configuration error): every message will fail the same way until an admin fixes
  the settings, so callers may want to pause the channel rather than retry.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import make_msgid, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailError, AnymailNotSupportedWarning, AnymailRequestsAPIError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.utils import DNS_NAME
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient
from urllib3.exceptions import NameResolutionError, NewConnectionError

from automations.sms_segments import gsm7_segments

# anymail warns on every backend instance that it no longer tests SendGrid; Growth chose
# SendGrid knowingly and its tests run the real backend against the stand-in.
warnings.filterwarnings(
    "ignore",
    message="django-anymail has dropped official support for SendGrid",
    category=AnymailNotSupportedWarning,
)

KEY_FIELD = "growth-key"  # anymail metadata / SendGrid custom_args name of the key
KEY_HEADER = "X-Growth-Key"  # the key on Twilio requests
TWILIO_TIMEOUT_DEFAULT = 15.0  # seconds; settings.TWILIO_REQUESTS_TIMEOUT overrides
RETRY_STATUSES = frozenset({408, 425, 429})
TWILIO_RETRY_CODES = frozenset({21611, 20429, 20500, 20503})  # queue full, rate, server
# twilio's HTTP client logs every request and its headers at INFO; keep that out of the logs.
_twilio_http_log = logging.getLogger("automations.providers.twilio_http")
_twilio_http_log.setLevel(logging.WARNING)


@dataclass(frozen=True)
class ProviderResult:
    provider: str  # "sendgrid", "twilio", or "outbox" when no provider was involved
    message_id: str  # what provider events are matched on (anymail id, Twilio SM sid, local id)
    status: str  # provider's status: "queued", "accepted", … ; "outbox" offline
    outbox: bool = False  # no provider took it: recorded locally, no events will follow
    provider_message_id: str = ""  # the provider's own id when it differs (SendGrid X-Message-Id)
    encoding: str | None = None  # SMS: "GSM-7" or "UCS-2"
    segments: int | None = None  # SMS: segments billed (the provider's count when it sends one)


class ProviderError(Exception):
    def __init__(self, reason: str, *, status_code: int | None = None, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.code = code


class ProviderRetry(ProviderError):
    """Temporary: send again later, not before `retry_after` seconds when it is set."""

    def __init__(
        self,
        retry_after: float | None,
        reason: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        maybe_sent: bool = False,
    ):
        super().__init__(reason, status_code=status_code, code=code)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class ProviderRejected(ProviderError):
    """Permanent for this message: sending it again will fail the same way."""


class ProviderMisconfigured(ProviderRejected):
    """Growth's provider settings are wrong (credentials, sender): every send fails alike."""


# --- helpers ------------------------------------------------------------------------------


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if str(key).lower() == lowered:
            return str(value)
    return None


def retry_after_seconds(
    headers: Mapping[str, Any] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from `Retry-After` (delta-seconds or HTTP date), else from a
    rate-limit reset time (SendGrid's `X-RateLimit-Reset`, Unix seconds). None if neither."""
    now = time.time() if now is None else now
    value = _header(headers, "Retry-After")
    if value is not None and value.strip():
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now)
    reset = _header(headers, "X-RateLimit-Reset")
    if reset is not None:
        try:
            at = float(reset)
        except ValueError:
            return None
        if at > 1_000_000_000:  # an absolute Unix time, not a count of seconds
            return max(0.0, at - now)
    return None


def _should_retry(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


def _http_error(
    *,
    provider: str,
    status: int,
    detail: str,
    headers: Mapping[str, Any] | None,
    code: str | None = None,
    credentials: str,
) -> ProviderError:
    what = f"HTTP {status}" + (f", error {code}" if code else "")
    detail = detail.strip() or _("no details given")
    if _should_retry(status) or (
        code is not None and code.isdigit() and int(code) in TWILIO_RETRY_CODES
    ):
        if status == 429:
            reason = _("%(provider)s is limiting the send rate (%(what)s): %(detail)s")
        elif status >= 500:
            reason = _("%(provider)s had a server error (%(what)s): %(detail)s")
        else:
            reason = _("%(provider)s could not take the message now (%(what)s): %(detail)s")
        return ProviderRetry(
            retry_after_seconds(headers),
            reason % {"provider": provider, "what": what, "detail": detail},
            status_code=status,
            code=code,
        )
    if status == 401:
        return ProviderMisconfigured(
            _(
                "%(provider)s refused Growth's credentials (%(what)s): %(detail)s Check %(settings)s."
            )
            % {
                "provider": provider,
                "what": what,
                "detail": _sentence(detail),
                "settings": credentials,
            },
            status_code=status,
            code=code,
        )
    return ProviderRejected(
        _("%(provider)s rejected the message (%(what)s): %(detail)s")
        % {"provider": provider, "what": what, "detail": detail},
        status_code=status,
        code=code,
    )


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _refused_to_connect(exc: BaseException) -> bool:
    """True when the connection was never made (nothing can have been sent)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, NewConnectionError | NameResolutionError | ConnectionRefusedError):
            return True
        if isinstance(item, BaseException):
            stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
            stack.extend(arg for arg in item.args if isinstance(arg, BaseException))
    return False


def _network_error(
    provider: str, url: str, exc: requests.RequestException, timeout: Any
) -> ProviderRetry:
    host = urlsplit(url).netloc or url
    if isinstance(exc, requests.ConnectTimeout):
        return ProviderRetry(
            None,
            _("Could not connect to %(provider)s at %(host)s within %(timeout)s s.")
            % {"provider": provider, "host": host, "timeout": timeout},
        )
    if isinstance(exc, requests.Timeout):
        return ProviderRetry(
            None,
            _(
                "%(provider)s did not answer within %(timeout)s s; the message may or may "
                "not have been taken."
            )
            % {"provider": provider, "timeout": timeout},
            maybe_sent=True,
        )
    if _refused_to_connect(exc):
        return ProviderRetry(
            None,
            _(
                "Could not connect to %(provider)s at %(host)s (connection refused or host not found)."
            )
            % {"provider": provider, "host": host},
        )
    return ProviderRetry(
        None,
        _(
            "The connection to %(provider)s at %(host)s broke before it answered; the "
            "message may or may not have been taken."
        )
        % {"provider": provider, "host": host},
        maybe_sent=True,
    )


def preload() -> None:
    """Import, once, what the first send of a process would otherwise import: the e-mail
    backend's module (anymail's SendGrid backend, its payload helpers) and the part of the
    twilio library its client loads lazily (`Client.api` … `messages`, about a hundred
    modules). A Celery worker calls this in its main process before the pool forks
    (growth.celery), so no child pays it during its first batch (measured on the 2-core VM:
    a first batch of 20 cost ≈ 0.35 s of CPU, the next ones ≈ 27 ms). Nothing is opened (no
    session, socket or database connection), so it is safe before a fork."""
    from django.utils.module_loading import import_string

    import_string(settings.EMAIL_BACKEND)
    import anymail._idna  # noqa: F401  (anymail imports it on the first address it parses)

    # A client that never sends (placeholder account, no token): only its lazy imports.
    http_client = TwilioHttpClient()
    client = TwilioClient(username="AC0", password="", account_sid="AC0", http_client=http_client)
    client.api.v2010.account.messages  # noqa: B018  (the lazy imports are the point)
    if http_client.session is not None:
        http_client.session.close()


# --- e-mail -------------------------------------------------------------------------------

_local = threading.local()


def _settle_environment(session: requests.Session, url: str) -> None:
    """Read the proxy and CA-bundle environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE …)
    once, for the provider's URL, when the session is made. With `trust_env` requests scans
    the whole environment on every request: a fifth of a send's CPU in a worker."""
    found = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies = dict(found["proxies"] or {})
    session.verify = found["verify"]
    session.trust_env = False


def _email_backend() -> tuple[BaseEmailBackend, bool]:
    """The configured backend and whether it is an anymail (provider) backend.

    An anymail backend is kept open per thread, so its HTTP session (and the TLS connection
    to the provider) is reused from one send to the next; it is rebuilt when the settings
    it was built from change (tests). Other backends are made fresh for each send."""
    signature = (
        settings.EMAIL_BACKEND,
        repr(getattr(settings, "ANYMAIL", None)),
        getattr(settings, "SENDGRID_API_KEY", None),
    )
    cached = getattr(_local, "email", None)
    if cached is not None and cached[0] == signature:
        return cached[1], True
    if cached is not None:
        cached[1].close()
        _local.email = None
    backend = get_connection(fail_silently=False)
    if not isinstance(backend, AnymailBaseBackend):
        return backend, False
    backend.open()
    if isinstance(getattr(backend, "session", None), requests.Session):
        _settle_environment(backend.session, str(getattr(backend, "api_url", "")))
    _local.email = (signature, backend)
    return backend, True


def email_send(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    from_email: str | None = None,
    headers: dict[str, str] | None = None,
    key: str,
    tags: list[str] | None = None,
) -> ProviderResult:
    """Send one e-mail to one address through the configured EMAIL_BACKEND.

    With anymail's SendGrid backend the result's `message_id` is anymail's id for the
    message (SendGrid custom arg `anymail_id`, what anymail's tracking webhooks report as
    `message_id`) and `provider_message_id` SendGrid's X-Message-Id. With any other
    backend (no credentials: console, outbox) the result is `outbox=True` and `message_id`
    is the Message-ID header Growth set. Raises ProviderRetry or ProviderRejected."""
    try:
        backend, is_provider = _email_backend()
    except ImproperlyConfigured as exc:  # anymail's configuration errors included
        raise ProviderMisconfigured(
            _("E-mail is not configured correctly: %(error)s") % {"error": exc}
        ) from exc
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=dict(headers or {}),
        connection=backend,
    )
    if html:
        message.attach_alternative(html, "text/html")
    # anymail's extra attributes; plain Django backends ignore them.
    message.metadata = {KEY_FIELD: key}  # type: ignore[attr-defined]
    if tags:
        message.tags = list(tags)  # type: ignore[attr-defined]
    local_id = ""
    if not is_provider:
        local_id = make_msgid(domain=DNS_NAME)
        message.extra_headers.setdefault("Message-ID", local_id)
        message.extra_headers.setdefault(KEY_HEADER, key)
    try:
        sent = message.send()
    except AnymailRequestsAPIError as exc:
        raise _anymail_error(exc, backend) from exc
    except AnymailError as exc:  # invalid address, unsupported feature, serialisation
        raise ProviderRejected(
            _("The e-mail could not be sent: %(error)s") % {"error": _first_line(exc)}
        ) from exc
    except ImproperlyConfigured as exc:
        raise ProviderMisconfigured(
            _("E-mail is not configured correctly: %(error)s") % {"error": exc}
        ) from exc
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise ProviderRejected(
            _("The mail server refused the message: %(error)s") % {"error": exc}
        ) from exc
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise ProviderRejected(
                _("The mail server refused the message: %(error)s") % {"error": exc}
            ) from exc
        raise ProviderRetry(None, _("The mail server is busy: %(error)s") % {"error": exc}) from exc
    except OSError as exc:  # SMTP connection problems (smtplib errors are OSErrors)
        raise ProviderRetry(
            None, _("Could not reach the mail server: %(error)s") % {"error": exc}
        ) from exc
    except ValueError as exc:  # BadHeaderError and other malformed input
        raise ProviderRejected(
            _("The e-mail could not be sent: %(error)s") % {"error": exc}
        ) from exc
    if not sent:
        raise ProviderRejected(
            _("The e-mail backend did not send the message (no recipient or cancelled).")
        )
    if not is_provider:
        return ProviderResult(provider="outbox", message_id=local_id, status="outbox", outbox=True)
    status = message.anymail_status  # type: ignore[attr-defined]
    response = status.esp_response
    statuses = status.status or {"queued"}
    return ProviderResult(
        provider=str(getattr(backend, "esp_name", "email")).lower(),
        message_id=str(status.message_id or ""),
        status=",".join(sorted(statuses)),
        provider_message_id=(_header(response.headers, "X-Message-Id") or "")
        if response is not None
        else "",
    )


def _first_line(exc: BaseException) -> str:
    """The exception's own message, without anymail's appended request/response dump."""
    text = str(exc.args[0]) if exc.args else ""
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _sendgrid_detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or str(response.reason or "")
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return response.text[:300]
    parts = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        message = str(error.get("message") or "").strip()
        field = error.get("field")
        parts.append(f"{message} ({field})" if field else message)
    return "; ".join(part for part in parts if part) or response.text[:300]


def _anymail_error(exc: AnymailRequestsAPIError, backend: Any) -> ProviderError:
    provider = str(getattr(backend, "esp_name", None) or _("The e-mail provider"))
    response = exc.response
    if response is None:  # the request never got an HTTP answer
        if isinstance(exc, requests.RequestException):
            return _network_error(
                provider,
                str(getattr(backend, "api_url", "")),
                exc,
                getattr(backend, "timeout", "?"),
            )
        return ProviderRetry(None, _first_line(exc))
    if 200 <= response.status_code < 300:  # an answer anymail could not read
        return ProviderRetry(
            None,
            _("%(provider)s answered in a way Growth could not read: %(error)s")
            % {"provider": provider, "error": _first_line(exc)},
            maybe_sent=True,
        )
    return _http_error(
        provider=provider,
        status=response.status_code,
        detail=_sendgrid_detail(response),
        headers=response.headers,
        credentials="SENDGRID_API_KEY",
    )


# --- SMS ----------------------------------------------------------------------------------


class _GrowthTwilioHttpClient(TwilioHttpClient):
    """Twilio's exceptions keep status, code and message but drop the response headers,
    where Retry-After is; this client keeps the last response's headers and adds the
    idempotency key header. One per thread, so neither needs a lock."""

    def __init__(self, timeout: float):
        super().__init__(timeout=timeout, logger=_twilio_http_log)
        self.last_headers: Mapping[str, Any] | None = None
        self.extra_headers: dict[str, str] = {}

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Any:
        self.last_headers = None
        headers = {**(headers or {}), **self.extra_headers}
        response = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self.last_headers = response.headers
        return response


def _twilio_client(sid: str, token: str) -> tuple[Any, _GrowthTwilioHttpClient]:
    """A real twilio Client whose API domain is `settings.TWILIO_API_BASE_URL`.

    twilio 9.x builds every URL as `client.api.base_url` + "/2010-04-01/…"
    (`twilio.base.domain.Domain.absolute_url`); `base_url` is a plain attribute set to
    "https://api.twilio.com" in `ApiBase.__init__`, so it is replaced on the cached `api`
    domain. Edge and region (which `ClientBase.get_hostname` would splice into the host,
    and which the client also reads from TWILIO_EDGE / TWILIO_REGION in the environment)
    are cleared: the setting is the whole base URL (use an edge host there if wanted).
    One client per thread, kept while the settings stay the same (connection reuse)."""
    base_url = str(settings.TWILIO_API_BASE_URL or "https://api.twilio.com").rstrip("/")
    timeout = float(getattr(settings, "TWILIO_REQUESTS_TIMEOUT", TWILIO_TIMEOUT_DEFAULT))
    signature = (sid, token, base_url, timeout)
    cached = getattr(_local, "twilio", None)
    if cached is not None and cached[0] == signature:
        return cached[1], cached[2]
    http_client = _GrowthTwilioHttpClient(timeout=timeout)
    if http_client.session is not None:
        _settle_environment(http_client.session, base_url)
    client = TwilioClient(username=sid, password=token, account_sid=sid, http_client=http_client)
    client.edge = None
    client.region = None
    client.api.base_url = base_url
    _local.twilio = (signature, client, http_client)
    return client, http_client


def sms_send(*, to: str, body: str, key: str, status_callback: str | None = None) -> ProviderResult:
    """Send one SMS through Twilio; `to` in E.164.

    Without TWILIO_ACCOUNT_SID nothing goes over the network: the result is
    `outbox=True`, status "outbox", with a local id ("outbox-sms-…"), and the caller records
    the message for the outbox UI. With credentials the sender is TWILIO_FROM_NUMBER (an
    "MG…" value is used as the Messaging Service SID). The result carries Twilio's message
    SID and status ("queued", or "accepted" for a Messaging Service) and the segment count.
    Raises ProviderRetry, ProviderRejected or ProviderMisconfigured."""
    encoding, segments = gsm7_segments(body)
    sid = str(getattr(settings, "TWILIO_ACCOUNT_SID", "") or "")
    if not sid:
        return ProviderResult(
            provider="outbox",
            message_id=f"outbox-sms-{uuid.uuid4().hex}",
            status="outbox",
            outbox=True,
            encoding=encoding,
            segments=segments,
        )
    token = str(getattr(settings, "TWILIO_AUTH_TOKEN", "") or "")
    sender = str(getattr(settings, "TWILIO_FROM_NUMBER", "") or "")
    if not token:
        raise ProviderMisconfigured(_("TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not."))
    if not sender:
        raise ProviderMisconfigured(
            _("TWILIO_FROM_NUMBER is not set: Growth has no number to send SMS from.")
        )
    client, http_client = _twilio_client(sid, token)
    options: dict[str, Any] = {"to": to, "body": body}
    if sender.startswith("MG"):
        options["messaging_service_sid"] = sender
    else:
        options["from_"] = sender
    if status_callback:
        options["status_callback"] = status_callback
    http_client.extra_headers = {KEY_HEADER: key}
    try:
        message = client.api.v2010.account.messages.create(**options)
    except TwilioRestException as exc:
        raise _twilio_error(exc.status, exc.code, exc.msg, http_client.last_headers) from exc
    except TwilioServiceException as exc:
        detail = " ".join(str(part) for part in (exc.title, exc.detail) if part)
        raise _twilio_error(exc.status, exc.code, detail, http_client.last_headers) from exc
    except requests.RequestException as exc:
        raise _network_error("Twilio", client.api.base_url, exc, http_client.timeout) from exc
    finally:
        http_client.extra_headers = {}
    try:
        billed = int(message.num_segments)
    except (TypeError, ValueError):
        billed = segments
    return ProviderResult(
        provider="twilio",
        message_id=str(message.sid),
        status=str(message.status or "queued"),
        provider_message_id=str(message.sid),
        encoding=encoding,
        segments=billed,
    )


def _twilio_error(
    status: Any, code: Any, message: Any, headers: Mapping[str, Any] | None
) -> ProviderError:
    detail = str(message or "")
    for prefix in ("Unable to create record: ",):
        if detail.startswith(prefix):
            detail = detail[len(prefix) :]
    status_code = int(status) if str(status).isdigit() else 500
    code_text = str(code) if code is not None and str(code) != str(status_code) else None
    return _http_error(
        provider="Twilio",
        status=status_code,
        detail=detail,
        headers=headers,
        code=code_text,
        credentials="TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
    )


# --- outbound webhooks ----------------------------------------------------------------------

WEBHOOK_SIGNATURE_HEADER = "X-Growth-Signature"
WEBHOOK_TIMEOUT = 10.0


def webhook_signature(body: bytes, secret: str) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body with the shared secret (as GitHub and
    Shopify do), for the receiver to check with a constant-time compare."""
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_signed_post(
    *,
    url: str,
    body: bytes,
    secrets: Sequence[str],
    headers: Mapping[str, str],
    credentials: str,
) -> ProviderResult:
    """POST `body` (JSON) to a receiver, signed with each of `secrets`: one `sha256=…` per
    secret, comma-separated in X-Growth-Signature (two while a rotated secret is still
    valid; a receiver accepts the request when any one matches). Redirects are not
    followed: a redirected POST would arrive as a GET without its body.

    2xx → a ProviderResult whose status is the HTTP status. Otherwise ProviderRetry
    (408/425/429/5xx, network; `retry_after` from Retry-After) or ProviderRejected (any
    other answer; `status_code` says which, e.g. 410). `credentials` names what to check
    when the receiver answers 401."""
    sent_headers = {
        "Content-Type": "application/json",
        "User-Agent": "Growth-Webhook/1",
        **headers,
        WEBHOOK_SIGNATURE_HEADER: ",".join(webhook_signature(body, s) for s in secrets),
    }
    try:
        response = requests.post(
            url, data=body, headers=sent_headers, timeout=WEBHOOK_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        problem = _network_error("the webhook receiver", url, exc, WEBHOOK_TIMEOUT)
        problem.maybe_sent = False  # the idempotency key lets the receiver drop a repeat
        raise problem from exc
    if 200 <= response.status_code < 300:
        return ProviderResult(
            provider="webhook",
            message_id=str(headers.get(KEY_HEADER, "")),
            status=str(response.status_code),
        )
    raise _http_error(
        provider=urlsplit(url).netloc or url,
        status=response.status_code,
        detail=response.text[:300],
        headers=response.headers,
        credentials=credentials,
    )


def webhook_post(*, url: str, body: bytes, key: str) -> ProviderResult:
    """A journey's webhook step: signed with OUTBOUND_WEBHOOK_SECRET. The delivery key
    travels as X-Growth-Key, so a receiver that saw it already can answer 2xx and do
    nothing: retries are safe."""
    secret = settings.OUTBOUND_WEBHOOK_SECRET
    if not secret:
        raise ProviderMisconfigured(
            _("Outbound webhooks need OUTBOUND_WEBHOOK_SECRET to sign what they send.")
        )
    return webhook_signed_post(
        url=url,
        body=body,
        secrets=[secret],
        headers={KEY_HEADER: key},
        credentials="OUTBOUND_WEBHOOK_SECRET",
    )
