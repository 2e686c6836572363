"""A local stand-in for the providers' HTTP APIs, for tests and benchmarks.

The real clients (django-anymail's SendGrid backend, the twilio library) are pointed at it
through settings (`SENDGRID_API_URL` / `ANYMAIL`, `TWILIO_API_BASE_URL`); nothing is
mocked. It speaks:

- SendGrid v3 ``POST /v3/mail/send``: Bearer API key, the body validated the way SendGrid
  does (enough to catch client bugs), 202 with a unique ``X-Message-Id``; errors in
  SendGrid's ``{"errors": [{"message", "field", "help"}]}`` shape.
- Twilio ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: HTTP Basic with the
  account SID and auth token, form-encoded To / From or MessagingServiceSid / Body /
  StatusCallback; 201 with a Message resource (segments counted GSM-7 vs UCS-2); errors in
  Twilio's ``{"code", "message", "more_info", "status"}`` shape.

Faults on demand: ``fail_next`` (429 with Retry-After, 5xx, any status), ``lose_response_next``
(take the message, then drop the connection without an answer), ``delay``. What arrived is
in ``emails``, ``sms`` and ``requests`` (copies, taken under the lock), ``duplicates()`` lists
messages that arrived more than once with the same idempotency key (SendGrid custom arg or
header ``growth-key`` / ``X-Growth-Key``; Twilio header ``X-Growth-Key``).

Stdlib only (plus `automations.sms_segments`, itself stdlib only), no pytest: bench scripts
use it too::

    with StandIn() as standin:
        ...  # settings.ANYMAIL["SENDGRID_API_URL"] = standin.sendgrid_api_url, …

or from a shell: ``python -m tests.standin --port 8025``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import re
import secrets
import signal
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from automations.sms_segments import gsm7_segments

DEFAULT_SENDGRID_KEY = "SG.standin-test-key"
DEFAULT_TWILIO_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_TWILIO_TOKEN = "standin-test-auth-token"
KEY_FIELD = "growth-key"
KEY_HEADER = "X-Growth-Key"
MAX_BODY = 30 * 1024 * 1024  # SendGrid's limit for a whole request

SENDGRID_SEND_PATH = "/v3/mail/send"
TWILIO_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CHANNEL = re.compile(r"^(whatsapp|messenger|rcs):.+$")
_ALPHA_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_SHORT_CODE = re.compile(r"^\d{5,6}$")
_MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
_SENDGRID_RESERVED_HEADERS = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)
_SENDGRID_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message."
_SENDGRID_FAULT_MESSAGES = {
    400: "Bad Request",
    401: "authorization required",
    403: "access forbidden",
    413: "payload too large",
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}
_TWILIO_FAULTS = {
    400: (21000, "Bad Request"),
    401: (20003, "Authenticate"),
    403: (20403, "Forbidden"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    502: (20500, "Bad Gateway"),
    503: (20503, "Service Unavailable"),
    504: (20500, "Gateway Timeout"),
}


@dataclass(frozen=True)
class ReceivedEmail:
    """One message SendGrid accepted (one per personalization of an accepted request)."""

    message_id: str  # the X-Message-Id answered (shared by a request's personalizations)
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    from_email: str
    from_name: str | None
    subject: str | None
    text: str | None
    html: str | None
    headers: dict[str, str]  # top-level headers, overlaid with the personalization's
    custom_args: dict[str, str]  # top-level custom_args, overlaid with the personalization's
    categories: tuple[str, ...]
    send_at: int | None
    template_id: str | None
    received_at: datetime
    payload: dict[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str | None:
        if KEY_FIELD in self.custom_args:
            return self.custom_args[KEY_FIELD]
        lowered = {name.lower(): value for name, value in self.headers.items()}
        return lowered.get(KEY_FIELD) or lowered.get(KEY_HEADER.lower())


@dataclass(frozen=True)
class ReceivedSms:
    """One message Twilio accepted."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    status: str
    encoding: str
    num_segments: int
    key: str | None  # the X-Growth-Key request header
    received_at: datetime
    form: dict[str, list[str]] = field(repr=False, compare=False)


@dataclass(frozen=True)
class ReceivedRequest:
    """Every request that reached the stand-in, whatever the answer."""

    provider: str  # "sendgrid", "twilio" or "unknown"
    method: str
    path: str
    status: int | None  # None: the connection was dropped without an answer
    received_at: datetime


@dataclass(frozen=True)
class Duplicate:
    provider: str
    key: str
    count: int
    message_ids: tuple[str, ...]


@dataclass
class _Fault:
    provider: str | None
    status: int | None  # None: accept, then lose the response
    retry_after: float | str | None = None
    rate_limit_reset: float | None = None
    body: Any = None


class _Answer(Exception):
    """Raised inside a handler to answer with an error at once."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _now() -> datetime:
    return datetime.now(UTC)


def _sendgrid_message_id() -> str:
    # SendGrid's ids look like 22 characters of URL-safe base64.
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode()[:22]


def sendgrid_errors(*errors: tuple[str, str | None]) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": message,
                "field": field_name,
                "help": (_SENDGRID_HELP + field_name.split(".")[0]) if field_name else None,
            }
            for message, field_name in errors
        ]
    }


def twilio_error(status: int, code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
        **extra,
    }


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def validate_sendgrid(data: Any, *, now: float | None = None) -> list[tuple[str, str | None]]:
    """The errors SendGrid would answer 400 with, as (message, field); [] when valid."""
    if not isinstance(data, dict):
        return [("Bad Request", None)]
    now = time.time() if now is None else now
    errors: list[tuple[str, str | None]] = []

    def address(value: Any, where: str, *, required_message: str) -> None:
        if not isinstance(value, dict) or "email" not in value:
            errors.append((required_message, f"{where}.email"))
        elif not isinstance(value["email"], str) or not _EMAIL.match(value["email"]):
            errors.append(("Does not contain a valid address.", f"{where}.email"))

    def strings(mapping: Any, where: str) -> None:
        if mapping is None:
            return
        if not isinstance(mapping, dict):
            errors.append((f"Invalid type. Expected: object, given: {_type_name(mapping)}.", where))
            return
        for name, value in mapping.items():
            if not isinstance(value, str):
                errors.append(
                    (
                        f"Invalid type. Expected: string, given: {_type_name(value)}.",
                        f"{where}.{name}",
                    )
                )

    def headers(mapping: Any, where: str) -> None:
        strings(mapping, where)
        if isinstance(mapping, dict):
            for name in mapping:
                if str(name).lower() in _SENDGRID_RESERVED_HEADERS:
                    errors.append((f"The header {name} is reserved and cannot be used.", where))

    personalizations = data.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            (
                "The personalizations field is required and must have at least one personalization.",
                "personalizations",
            )
        )
        personalizations = []
    elif len(personalizations) > 1000:
        errors.append(
            ("The personalizations field must have 1000 or fewer entries.", "personalizations")
        )
    all_have_subject = bool(personalizations)
    for i, p in enumerate(personalizations):
        where = f"personalizations.{i}"
        if not isinstance(p, dict):
            errors.append(("Invalid type. Expected: object.", where))
            all_have_subject = False
            continue
        seen: dict[str, str] = {}
        for kind in ("to", "cc", "bcc"):
            recipients = p.get(kind)
            if kind == "to" and (not isinstance(recipients, list) or not recipients):
                errors.append(
                    (
                        "The to array is required for all personalization objects, and must "
                        "have at least one email object with a valid email address.",
                        f"{where}.to",
                    )
                )
                continue
            if recipients is None:
                continue
            if not isinstance(recipients, list):
                errors.append(
                    (
                        f"Invalid type. Expected: array, given: {_type_name(recipients)}.",
                        f"{where}.{kind}",
                    )
                )
                continue
            for j, recipient in enumerate(recipients):
                address(
                    recipient,
                    f"{where}.{kind}.{j}",
                    required_message="The email parameter is required.",
                )
                email = recipient.get("email") if isinstance(recipient, dict) else None
                if isinstance(email, str):
                    lowered = email.lower()
                    if lowered in seen:
                        errors.append(
                            (
                                "Each email address in the personalization block should be "
                                "unique between to, cc, and bcc. We found the first duplicate "
                                f"instance of [{email}] in the {where}.{kind} field.",
                                f"{where}.{kind}",
                            )
                        )
                    seen[lowered] = kind
        if "subject" in p and not isinstance(p["subject"], str):
            errors.append(("Invalid type. Expected: string.", f"{where}.subject"))
        if not (isinstance(p.get("subject"), str) and p["subject"]):
            all_have_subject = False
        strings(p.get("custom_args"), f"{where}.custom_args")
        strings(p.get("substitutions"), f"{where}.substitutions")
        headers(p.get("headers"), f"{where}.headers")
        if p.get("send_at") is not None and not isinstance(p["send_at"], int):
            errors.append(("Invalid type. Expected: integer.", f"{where}.send_at"))

    address(
        data.get("from"),
        "from",
        required_message=(
            "The from object must be provided for every email send. It is an object that "
            'requires the email parameter, but may also contain a name parameter.  e.g. {"email" : '
            '"example@example.com"}  or {"email" : "example@example.com", "name" : "Example '
            'Recipient"}.'
        ),
    )
    for j, reply in enumerate(data.get("reply_to_list") or []):
        address(reply, f"reply_to_list.{j}", required_message="The email parameter is required.")
    if data.get("reply_to") is not None:
        address(data["reply_to"], "reply_to", required_message="The email parameter is required.")

    template_id = data.get("template_id")
    if template_id is not None and not (isinstance(template_id, str) and template_id):
        errors.append(("The template_id must be a valid GUID string.", "template_id"))
        template_id = None
    subject = data.get("subject")
    if subject is not None and not isinstance(subject, str):
        errors.append(("Invalid type. Expected: string.", "subject"))
    elif not subject and not template_id and not all_have_subject:
        errors.append(
            (
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
                "subject",
            )
        )

    content = data.get("content")
    if content is None:
        if not template_id:
            errors.append(
                (
                    "Unless a valid template_id is provided, the content parameter is "
                    "required. There must be at least one defined content block. We "
                    "typically suggest both text/plain and text/html blocks are included, "
                    "but only one block is required.",
                    "content",
                )
            )
    elif not isinstance(content, list) or (not content and not template_id):
        errors.append(
            ("The content parameter must be an array with at least one content block.", "content")
        )
    else:
        types: list[str] = []
        for i, block in enumerate(content):
            if not isinstance(block, dict):
                errors.append(("Invalid type. Expected: object.", f"content.{i}"))
                continue
            if not isinstance(block.get("type"), str) or not block["type"]:
                errors.append(
                    (
                        "The content type must be a string at least one character in length.",
                        f"content.{i}.type",
                    )
                )
            if not isinstance(block.get("value"), str) or not block["value"]:
                errors.append(
                    (
                        "The content value must be a string at least one character in length.",
                        f"content.{i}.value",
                    )
                )
            types.append(str(block.get("type", "")).lower())
        html_at = 1 if types[:1] == ["text/plain"] else 0
        if ("text/plain" in types and types.index("text/plain") != 0) or (
            "text/html" in types and types.index("text/html") != html_at
        ):
            errors.append(
                (
                    "If present, text/plain must be first, followed by text/html, followed "
                    "by any other content.",
                    "content",
                )
            )

    headers(data.get("headers"), "headers")
    custom_args = data.get("custom_args")
    strings(custom_args, "custom_args")
    if isinstance(custom_args, dict) and len(json.dumps(custom_args).encode()) > 10_000:
        errors.append(
            ("The custom_args field must have total length less than 10,000 bytes.", "custom_args")
        )

    categories = data.get("categories")
    if categories is not None:
        if not isinstance(categories, list):
            errors.append(("Invalid type. Expected: array.", "categories"))
        else:
            if len(categories) > 10:
                errors.append(("Too many categories. The max is 10.", "categories"))
            if len(set(map(str, categories))) != len(categories):
                errors.append(("The categories must be unique.", "categories"))
            for i, category in enumerate(categories):
                if not isinstance(category, str) or len(category) > 255:
                    errors.append(
                        (
                            "A category must be a string of at most 255 characters.",
                            f"categories.{i}",
                        )
                    )

    send_at = data.get("send_at")
    if send_at is not None:
        if not isinstance(send_at, int) or isinstance(send_at, bool):
            errors.append(("Invalid type. Expected: integer.", "send_at"))
        elif send_at > now + 72 * 3600:
            errors.append(
                (
                    "The send_at parameter cannot be scheduled more than 72 hours in advance.",
                    "send_at",
                )
            )
    return errors


def validate_twilio(form: dict[str, list[str]]) -> tuple[int, int, str] | None:
    """(status, Twilio error code, message) for the first problem, None when valid."""

    def one(name: str) -> str | None:
        values = form.get(name)
        return values[-1] if values else None

    to, sender, service = one("To"), one("From"), one("MessagingServiceSid")
    body, media = one("Body"), form.get("MediaUrl") or form.get("ContentSid")
    if not to:
        return 400, 21604, "A 'To' phone number is required."
    if not body and not media:
        return 400, 21602, "Message body is required."
    if not sender and not service:
        return 400, 21603, "A 'From' phone number is required."
    if not (_E164.match(to) or _CHANNEL.match(to)):
        return 400, 21211, f"Invalid 'To' Phone Number: {to}"
    if sender and not (
        _E164.match(sender)
        or _CHANNEL.match(sender)
        or _ALPHA_SENDER.match(sender)
        or _SHORT_CODE.match(sender)
    ):
        return 400, 21212, f"Invalid From Number (caller ID): {sender}"
    if service and not _MESSAGING_SERVICE.match(service):
        return 400, 21701, f"The Messaging Service Sid {service} is invalid."
    if body and len(body) > 1600:
        return 400, 21617, "The concatenated message body exceeds the 1600 character limit."
    callback = one("StatusCallback")
    if callback and urlsplit(callback).scheme not in ("http", "https"):
        return 400, 21609, f"Invalid StatusCallback: {callback}"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # benchmarks open many connections at once
    standin: StandIn


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs
    server_version = "GrowthStandIn/1.0"
    timeout = 60  # an idle keep-alive connection is closed after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to some answers.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.standin._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.standin._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.server.standin._handle(self)

    def do_GET(self) -> None:
        self.server.standin._handle(self)

    do_PUT = do_DELETE = do_PATCH = do_GET

    def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()


class StandIn:
    """One stand-in server. `start()` (or `with StandIn() as s:`), then point the clients at
    `sendgrid_api_url` and `twilio_base_url` with the credentials it was made with."""

    def __init__(
        self,
        *,
        sendgrid_api_key: str = DEFAULT_SENDGRID_KEY,
        twilio_account_sid: str = DEFAULT_TWILIO_SID,
        twilio_auth_token: str = DEFAULT_TWILIO_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.sendgrid_api_key = sendgrid_api_key
        self.twilio_account_sid = twilio_account_sid
        self.twilio_auth_token = twilio_auth_token
        self._address = (host, port)
        self._lock = threading.Condition()
        self._emails: list[ReceivedEmail] = []
        self._sms: list[ReceivedSms] = []
        self._requests: list[ReceivedRequest] = []
        self._faults: list[_Fault] = []
        self._delays: dict[str | None, float] = {}
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> StandIn:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(self._address, _Handler)
        server.standin = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut open keep-alive connections, so a client's next request
        meets a refused connection (as with a provider that is down)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._address[0]}:{self.port}"

    @property
    def sendgrid_api_url(self) -> str:
        return f"{self.url}/v3/"

    @property
    def twilio_base_url(self) -> str:
        return self.url

    # --- what arrived -------------------------------------------------------------------

    @property
    def emails(self) -> list[ReceivedEmail]:
        with self._lock:
            return list(self._emails)

    @property
    def sms(self) -> list[ReceivedSms]:
        with self._lock:
            return list(self._sms)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def duplicates(self) -> list[Duplicate]:
        """Messages that arrived more than once with the same idempotency key."""
        with self._lock:
            groups: dict[tuple[str, str], list[str]] = {}
            for email in self._emails:
                if email.key is not None:
                    groups.setdefault(("sendgrid", email.key), []).append(email.message_id)
            for sms in self._sms:
                if sms.key is not None:
                    groups.setdefault(("twilio", sms.key), []).append(sms.sid)
        return [
            Duplicate(provider=provider, key=key, count=len(ids), message_ids=tuple(ids))
            for (provider, key), ids in sorted(groups.items())
            if len(ids) > 1
        ]

    def wait_for(self, *, emails: int = 0, sms: int = 0, timeout: float = 10.0) -> bool:
        """Block until at least this many e-mails and SMS arrived; False on timeout."""
        with self._lock:
            return self._lock.wait_for(
                lambda: len(self._emails) >= emails and len(self._sms) >= sms, timeout=timeout
            )

    # --- faults -------------------------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        retry_after: float | str | None = None,
        provider: str | None = None,
        rate_limit_reset: float | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `count` requests (to `provider`, "sendgrid" or "twilio", or to
        either) with `status` and the provider's error body, before auth or validation;
        nothing is recorded as accepted. `retry_after` (seconds, or an HTTP date string)
        becomes a Retry-After header, `rate_limit_reset` (Unix time) SendGrid's
        X-RateLimit-Reset; `body` replaces the default error body."""
        self._check_provider(provider)
        with self._lock:
            self._faults.extend(
                _Fault(provider, status, retry_after, rate_limit_reset, body) for _ in range(count)
            )

    def lose_response_next(self, count: int = 1, *, provider: str | None = None) -> None:
        """Handle the next `count` requests as usual (a valid message is accepted and
        recorded), then close the connection without answering: the provider took the
        message but the client cannot know."""
        self._check_provider(provider)
        with self._lock:
            self._faults.extend(_Fault(provider, None) for _ in range(count))

    def delay(self, seconds: float, *, provider: str | None = None) -> None:
        """Wait `seconds` before handling each request (to `provider`, or all) until changed
        or reset. The request is still handled after the wait even if the client gave up,
        as a real provider would."""
        self._check_provider(provider)
        with self._lock:
            if seconds > 0:
                self._delays[provider] = float(seconds)
            else:
                self._delays.pop(provider, None)

    def reset(self) -> None:
        """Forget what arrived and every pending fault and delay."""
        with self._lock:
            self._emails.clear()
            self._sms.clear()
            self._requests.clear()
            self._faults.clear()
            self._delays.clear()

    @staticmethod
    def _check_provider(provider: str | None) -> None:
        if provider not in (None, "sendgrid", "twilio"):
            raise ValueError(f"provider must be 'sendgrid', 'twilio' or None, not {provider!r}")

    # --- serving ------------------------------------------------------------------------

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _log(self, provider: str, handler: _Handler, status: int | None) -> None:
        with self._lock:
            self._requests.append(
                ReceivedRequest(provider, handler.command, handler.path, status, _now())
            )

    def _take_fault(self, provider: str) -> _Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.provider in (None, provider):
                    return self._faults.pop(i)
        return None

    def _handle(self, handler: _Handler) -> None:
        path = urlsplit(handler.path).path
        provider = (
            "sendgrid"
            if path.startswith("/v3/")
            else "twilio"
            if path.startswith("/2010-04-01/")
            else "unknown"
        )
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            handler.close_connection = True
            self._reply(handler, provider, 413, self._error_body(provider, 413), {})
            return
        raw = handler.rfile.read(length) if length else b""

        with self._lock:
            wait = self._delays.get(provider, self._delays.get(None, 0.0))
        if wait and self._stopping.wait(wait):
            handler.close_connection = True
            return

        route_ok = (
            (provider == "sendgrid" and path == SENDGRID_SEND_PATH)
            or (provider == "twilio" and TWILIO_MESSAGES.match(path) is not None)
        ) and handler.command == "POST"
        if not route_ok:
            self._reply(handler, provider, 404, self._error_body(provider, 404), {})
            return

        fault = self._take_fault(provider)
        if fault is not None and fault.status is not None:
            headers: dict[str, str] = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = (
                    fault.retry_after
                    if isinstance(fault.retry_after, str)
                    else f"{fault.retry_after:g}"
                )
            if fault.rate_limit_reset is not None:
                headers["X-RateLimit-Limit"] = "600"
                headers["X-RateLimit-Remaining"] = "0"
                headers["X-RateLimit-Reset"] = str(int(fault.rate_limit_reset))
            body = (
                fault.body if fault.body is not None else self._error_body(provider, fault.status)
            )
            self._reply(handler, provider, fault.status, body, headers)
            return
        lose = fault is not None

        try:
            if provider == "sendgrid":
                status, body, headers = self._sendgrid(handler, raw)
            else:
                status, body, headers = self._twilio(handler, raw, path)
        except _Answer as answer:
            status, body, headers = answer.status, answer.body, answer.headers
        if lose:
            self._log(provider, handler, None)
            handler.close_connection = True
            return
        self._reply(handler, provider, status, body, headers)

    def _reply(
        self,
        handler: _Handler,
        provider: str,
        status: int,
        body: Any,
        headers: dict[str, str],
    ) -> None:
        self._log(provider, handler, status)
        try:
            handler.answer(status, body, headers)
        except OSError:  # the client gave up (timeout) or the stand-in is stopping
            handler.close_connection = True

    @staticmethod
    def _error_body(provider: str, status: int) -> Any:
        if provider == "twilio":
            code, message = _TWILIO_FAULTS.get(status, (status, "Error"))
            return twilio_error(status, code, message)
        if provider == "sendgrid":
            return sendgrid_errors((_SENDGRID_FAULT_MESSAGES.get(status, "error"), None))
        return {"error": "not found"} if status == 404 else {"error": status}

    # --- SendGrid -----------------------------------------------------------------------

    def _sendgrid(self, handler: _Handler, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        authorization = handler.headers.get("Authorization") or ""
        if not authorization:
            raise _Answer(401, sendgrid_errors(("authorization required", None)))
        scheme, _sep, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            credential.strip().encode(), self.sendgrid_api_key.encode()
        ):
            raise _Answer(
                401,
                sendgrid_errors(
                    ("The provided authorization grant is invalid, expired, or revoked", None)
                ),
            )
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _Answer(400, sendgrid_errors(("Bad Request", None))) from None
        errors = validate_sendgrid(data)
        if errors:
            raise _Answer(400, sendgrid_errors(*errors))

        message_id = _sendgrid_message_id()
        received_at = _now()
        content = {
            str(block.get("type", "")).lower(): block.get("value")
            for block in reversed(data.get("content") or [])
        }
        top_headers = dict(data.get("headers") or {})
        top_args = dict(data.get("custom_args") or {})
        records = []
        for p in data["personalizations"]:
            records.append(
                ReceivedEmail(
                    message_id=message_id,
                    to=tuple(r["email"] for r in p.get("to") or []),
                    cc=tuple(r["email"] for r in p.get("cc") or []),
                    bcc=tuple(r["email"] for r in p.get("bcc") or []),
                    from_email=data["from"]["email"],
                    from_name=data["from"].get("name"),
                    subject=p.get("subject") or data.get("subject"),
                    text=content.get("text/plain"),
                    html=content.get("text/html"),
                    headers={**top_headers, **(p.get("headers") or {})},
                    custom_args={**top_args, **(p.get("custom_args") or {})},
                    categories=tuple(data.get("categories") or ()),
                    send_at=p.get("send_at", data.get("send_at")),
                    template_id=data.get("template_id"),
                    received_at=received_at,
                    payload=data,
                )
            )
        with self._lock:
            self._emails.extend(records)
            self._lock.notify_all()
        return 202, None, {"X-Message-Id": message_id}

    # --- Twilio -------------------------------------------------------------------------

    def _twilio_authorized(self, handler: _Handler, path_sid: str) -> bool:
        scheme, _sep, encoded = (handler.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _colon, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (
            secrets.compare_digest(user.encode(), self.twilio_account_sid.encode())
            and secrets.compare_digest(password.encode(), self.twilio_auth_token.encode())
            and path_sid == self.twilio_account_sid
        )

    def _twilio(self, handler: _Handler, raw: bytes, path: str) -> tuple[int, Any, dict[str, str]]:
        match = TWILIO_MESSAGES.match(path)
        assert match is not None
        account_sid = match["sid"]
        if not self._twilio_authorized(handler, account_sid):
            raise _Answer(
                401,
                twilio_error(
                    401, 20003, "Authenticate", detail="Your AccountSid or AuthToken was incorrect."
                ),
                {"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise _Answer(400, twilio_error(400, 21000, "Bad Request")) from None
        problem = validate_twilio(form)
        if problem is not None:
            status, code, message = problem
            raise _Answer(status, twilio_error(status, code, message))

        def one(name: str) -> str | None:
            values = form.get(name)
            return values[-1] if values else None

        body = one("Body") or ""
        encoding, segments = gsm7_segments(body)
        sid = "SM" + secrets.token_hex(16)
        service = one("MessagingServiceSid")
        state = "accepted" if service and not one("From") else "queued"
        received_at = _now()
        record = ReceivedSms(
            sid=sid,
            account_sid=account_sid,
            to=one("To") or "",
            from_=one("From"),
            messaging_service_sid=service,
            body=body,
            status_callback=one("StatusCallback"),
            status=state,
            encoding=encoding,
            num_segments=max(segments, 1),
            key=handler.headers.get(KEY_HEADER),
            received_at=received_at,
            form=form,
        )
        with self._lock:
            self._sms.append(record)
            self._lock.notify_all()
        stamp = format_datetime(received_at.replace(microsecond=0))
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
        resource = {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": stamp,
            "date_sent": None,
            "date_updated": stamp,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": record.from_,
            "messaging_service_sid": service,
            "num_media": str(len(form.get("MediaUrl", []))),
            "num_segments": str(record.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": state,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": record.to,
            "uri": f"{uri}.json",
        }
        return 201, resource, {"Twilio-Request-Id": "RQ" + secrets.token_hex(16)}


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the provider stand-in until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(list(argv) if argv is not None else None)
    standin = StandIn(host=args.host, port=args.port).start()
    print(f"SENDGRID_API_URL={standin.sendgrid_api_url}")
    print(f"SENDGRID_API_KEY={standin.sendgrid_api_key}")
    print(f"TWILIO_API_BASE_URL={standin.twilio_base_url}")
    print(f"TWILIO_ACCOUNT_SID={standin.twilio_account_sid}")
    print(f"TWILIO_AUTH_TOKEN={standin.twilio_auth_token}", flush=True)
    # Serve until Ctrl-C or a TERM from whoever started it (the bench harness).
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    standin.stop()


if __name__ == "__main__":
    main()
