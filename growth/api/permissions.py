"""Who may call a view: one `Access` per resource, declared once on the view.

An API key is checked against its scopes (`contacts:read`, `contacts:write`); a signed-in
person against the capabilities of their roles. Safe methods need the read level, others
the write level. Which objects the caller sees is the view's `visible()` (see views.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from growth.api import scopes
from growth.models import ApiKey
from growth.roles import Capability, permission_name, roles_with


@dataclass(frozen=True)
class Access:
    """`Access("contacts", read=[C.VIEW_CONTACTS], write=[C.MANAGE_DATA])`: a key needs the
    scope at the method's level; a person needs any one of the listed capabilities."""

    scope: str
    read: Sequence[Capability] = field(default_factory=tuple)
    write: Sequence[Capability] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        assert self.scope in scopes.RESOURCES, f"add {self.scope!r} to growth.api.scopes"

    def level(self, method: str) -> str:
        return scopes.Level.READ if method in SAFE_METHODS else scopes.Level.WRITE

    def capabilities(self, level: str) -> Sequence[Capability]:
        return self.read if level == scopes.Level.READ else self.write


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API key (`key`), or a signed-in person (`user`, key None)."""

    user: Any
    key: ApiKey | None

    def can(self, capability: Capability) -> bool:
        """A key acts by its scopes only; a person by their capabilities."""
        return self.key is None and self.user.has_perm(permission_name(capability))


def caller(request: Request) -> Caller:
    key = request.auth if isinstance(request.auth, ApiKey) else None
    return Caller(request.user, key)


def _roles(capabilities: Sequence[Capability]) -> str:
    names = dict.fromkeys(str(r.label) for c in capabilities for r in roles_with(c))
    return " / ".join(names) or _("no role")


class HasAccess(BasePermission):
    """The default permission: the view's `access` decides; a view without one is closed."""

    def has_permission(self, request: Request, view: Any) -> bool:
        access: Access | None = getattr(view, "access", None)
        if access is None:
            self.message = _("This endpoint declares no access rule, so it is closed.")
            return False
        who = caller(request)
        level = access.level(request.method or "GET")
        if who.key is not None:
            if scopes.allows(who.key.scopes, access.scope, level):
                return True
            self.message = _("This API key lacks the scope %(scope)s.") % {
                "scope": scopes.label(access.scope, level)
            }
            return False
        if not request.user or not request.user.is_authenticated:
            return False  # DRF answers 401 with the Bearer challenge
        needed = access.capabilities(level)
        if any(request.user.has_perm(permission_name(c)) for c in needed):
            return True
        self.message = _("This needs the %(roles)s role (%(what)s).") % {
            "roles": _roles(needed),
            "what": " / ".join(str(c.label) for c in needed) or _("no capability allows it"),
        }
        return False
