"""The audit log: one call, `record`, from every place an admin must be able to account for.

Sign-ins, sign-in failures and sign-outs are recorded from Django's auth signals (wired in
`growth.apps`); role changes, user creation, API keys, exports, erasures and webhook secret
rotations by the services that do them.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from growth.models import AuditEvent, User


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address Django saw (a proxy in front sets REMOTE_ADDR through the WSGI server)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: AuditEvent.Action | str,
    *,
    actor: User | Any | None = None,
    actor_label: str = "",
    target: str = "",
    request: HttpRequest | None = None,
    ip: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append one audit event. `actor` is the user who acted (None for the system or an
    anonymous caller: say who in `actor_label`); `detail` is stored as JSON. Services, which
    hold no request, pass the caller's address as `ip`."""
    user = actor if isinstance(actor, User) else None
    if user is None and request is not None and getattr(request, "user", None) is not None:
        user = request.user if request.user.is_authenticated else None
    label = actor_label or (user.get_username() if user is not None else "")
    return AuditEvent.objects.create(
        action=action,
        actor=user,
        actor_label=label[:150],
        target=target[:300],
        ip=client_ip(request) or ip or None,
        detail=detail,
    )
