"""The Segment-compatible tracking API: /ingest/v1/{batch,track,identify,page,screen,alias,group}.

Contract as Segment's HTTP Tracking API, so its official libraries work with `host` set to
`http://<growth>/ingest`: HTTP Basic auth with the write key as user name (or `writeKey`
in the body), 32 KB per message, 500 KB per batch, `messageId` dedupes, and the answer is
`200 {"success": true}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from leads.ingest.http import Rejected, read_body
from leads.models import Source
from leads.services.inbound import Incoming, inbound_store_many
from leads.services.sources import source_for_write_key

MESSAGE_LIMIT = 32 * 1024
# Room for what Growth adds to a stored message (messageId, receivedAt, sentAt).
STAMP_ALLOWANCE = 256
BATCH_LIMIT = 500 * 1024
TYPES = ("track", "identify", "page", "screen", "alias", "group")


def _required(message: dict[str, Any]) -> list[str]:
    """Names of the fields this message lacks, by its type."""
    kind = message.get("type")
    missing = []
    if kind != "alias" and not (message.get("userId") or message.get("anonymousId")):
        missing.append("userId or anonymousId")
    if kind == "track" and not message.get("event"):
        missing.append("event")
    if kind == "alias":
        missing += [f for f in ("previousId", "userId") if not message.get(f)]
    if kind == "group" and not message.get("groupId"):
        missing.append("groupId")
    return missing


def validate_message(message: Any, *, where: str) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise Rejected(400, f"{where}: a message must be a JSON object")
    if message.get("type") not in TYPES:
        raise Rejected(400, f"{where}: type must be one of {', '.join(TYPES)}")
    for key in ("userId", "anonymousId", "messageId", "event", "previousId", "groupId"):
        value = message.get(key)
        if value is not None and not isinstance(value, str | int):
            raise Rejected(400, f"{where}: {key} must be a string")
    for key in ("properties", "traits", "context"):
        if key in message and not isinstance(message[key], dict | None):
            raise Rejected(400, f"{where}: {key} must be an object")
    missing = _required(message)
    if missing:
        raise Rejected(400, f"{where}: missing {', '.join(missing)}")
    for key in ("timestamp", "originalTimestamp", "sentAt"):
        value = message.get(key)
        if value is not None and (not isinstance(value, str) or parse_datetime(value) is None):
            raise Rejected(400, f"{where}: {key} must be an ISO 8601 date-time")
    return message


def parse_payload(raw: bytes, kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(payload, messages) from a request body; raises Rejected with what is wrong."""
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(400, f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise Rejected(400, "body must be a JSON object")
    if kind == "batch":
        batch = payload.get("batch")
        if not isinstance(batch, list) or not batch:
            raise Rejected(400, "missing batch: a non-empty list of messages")
        messages = [validate_message(m, where=f"batch[{i}]") for i, m in enumerate(batch)]
    else:
        payload.setdefault("type", kind)
        if payload["type"] != kind:
            raise Rejected(400, f"type {payload['type']!r} posted to /{kind}")
        messages = [validate_message(payload, where="message")]
    return payload, messages


def write_key_from(request: HttpRequest, payload: dict[str, Any] | None) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            user = base64.b64decode(header[6:].strip(), validate=True).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user:
            return user
    key = (payload or {}).get("writeKey")
    return key if isinstance(key, str) else ""


def authenticate(write_key: str) -> Source:
    if not write_key:
        raise Rejected(401, "missing write key: send it as the HTTP Basic user name or as writeKey")
    source = source_for_write_key(write_key)
    if source is None:
        raise Rejected(401, "unknown or inactive write key")
    return source


def _cors(response: HttpResponse, request: HttpRequest, source: Source | None) -> HttpResponse:
    origin = request.headers.get("Origin")
    if not origin:
        return response
    if source is None:  # a preflight names no key: allow origins any active source allows
        allowed = Source.objects.filter(
            kind=Source.Kind.TRACKING, is_active=True, allowed_origins__overlap=[origin, "*"]
        ).exists()
    else:
        allowed = origin in source.allowed_origins or "*" in source.allowed_origins
    if allowed:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Content-Encoding"
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Max-Age"] = "86400"
    response["Vary"] = "Origin"
    return response


@csrf_exempt  # machine endpoint: authenticated by write key, not by a session
def endpoint(request: HttpRequest, kind: str) -> HttpResponse:
    if kind != "batch" and kind not in TYPES:
        return JsonResponse({"success": False, "error": f"no endpoint /v1/{kind}"}, status=404)
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), request, None)
    if request.method != "POST":
        return JsonResponse({"success": False, "error": "use POST"}, status=405)
    source = None
    try:
        raw = read_body(request, limit=BATCH_LIMIT if kind == "batch" else MESSAGE_LIMIT)
        try:
            payload, messages = parse_payload(raw, kind)
        except Rejected as rejected:
            # Say "unauthorised" before "malformed" when the key is wrong too.
            if rejected.status == 400:
                authenticate(write_key_from(request, None))
            raise
        source = authenticate(write_key_from(request, payload))
        received_at = timezone.now().isoformat()
        items = []
        for n, message in enumerate(messages):
            message_id = str(message.get("messageId") or uuid.uuid4())
            stored = {**message, "messageId": message_id, "receivedAt": received_at}
            stored.setdefault("sentAt", payload.get("sentAt"))
            # Encoded once: the size check and the stored body are the same bytes.
            body = json.dumps(stored, separators=(",", ":")).encode()
            if len(body) > MESSAGE_LIMIT + STAMP_ALLOWANCE:
                where = f"batch[{n}]" if kind == "batch" else "message"
                raise Rejected(413, f"{where}: message is over the 32 KB limit")
            items.append(Incoming(message["type"], message_id, body))
        inbound_store_many(source=source, items=items, headers=_kept_headers(request))
    except Rejected as rejected:
        return _cors(rejected.response(), request, source)
    except DatabaseError:
        # Nothing was stored: tell the client to retry rather than pretend.
        return _cors(
            JsonResponse({"success": False, "error": "storage unavailable, retry"}, status=503),
            request,
            source,
        )
    return _cors(JsonResponse({"success": True}), request, source)


def _kept_headers(request: HttpRequest) -> dict[str, str]:
    keep = ("User-Agent", "Content-Type", "Origin", "X-Forwarded-For")
    headers = {k: v for k, v in request.headers.items() if k in keep}
    headers["Remote-Addr"] = request.META.get("REMOTE_ADDR", "")
    return headers


def _parsed(message: dict[str, Any], key: str) -> datetime | None:
    value = message.get(key)
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return _aware(parsed) if parsed else None


def occurred_at(message: dict[str, Any], received_at: datetime) -> datetime:
    """Segment's clock-skew rule: receivedAt - (sentAt - originalTimestamp)."""
    original, sent = _parsed(message, "originalTimestamp"), _parsed(message, "sentAt")
    if original and sent:
        return received_at - (sent - original)
    return _parsed(message, "timestamp") or received_at


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
