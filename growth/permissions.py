"""Capability checks for views. Every page asks for a capability; the 403 page names the
roles that have it, so the person knows whom to ask."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.translation import gettext as _

from growth.roles import Capability, permission_name, roles_with


def denial_message(capability: Capability) -> str:
    roles = " / ".join(str(role.label) for role in roles_with(capability))
    return _("This page needs the %(roles)s role.") % {"roles": roles}


def check_capability(user: Any, capability: Capability) -> None:
    if not user.has_perm(permission_name(capability)):
        raise PermissionDenied(denial_message(capability))


def capability_required(capability: Capability) -> Callable[..., Any]:
    """Function-view decorator: sign in first, then the capability, else the 403 page."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            check_capability(request.user, capability)
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


class CapabilityRequiredMixin(LoginRequiredMixin):
    capability: Capability

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            check_capability(request.user, self.capability)
        return super().dispatch(request, *args, **kwargs)


__all__ = ["CapabilityRequiredMixin", "capability_required", "check_capability"]
