"""What every inbound endpoint shares: bounded bodies, clear errors, signatures."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import io

from django.http import HttpRequest, JsonResponse


class Rejected(Exception):
    """An inbound request we refuse, with the status and the message the sender sees."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JsonResponse:
        return JsonResponse({"success": False, "error": self.message}, status=self.status)


def read_body(request: HttpRequest, *, limit: int) -> bytes:
    """The raw body, at most `limit` bytes after gzip; 413 beyond, 400 for bad gzip."""
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"request body is over the {limit // 1024} KB limit")
    raw = request.body
    if len(raw) > limit:
        raise Rejected(413, f"request body is over the {limit // 1024} KB limit")
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                raw = stream.read(limit + 1)
        except (OSError, EOFError) as exc:
            raise Rejected(400, f"body is not valid gzip: {exc}") from exc
        if len(raw) > limit:
            raise Rejected(413, f"request body is over the {limit // 1024} KB limit")
    return raw


def hmac_base64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_matches(secret: str, body: bytes, given: str | None) -> bool:
    """Base64 HMAC-SHA256 of the raw body (Shopify and WooCommerce), compared in constant time."""
    if not secret or not given:
        return False
    return hmac.compare_digest(hmac_base64(secret, body).encode(), given.strip().encode())
