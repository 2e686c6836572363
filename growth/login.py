"""Sign-in with throttling: too many failed sign-ins for one user name from one address, or
from one address in all, and the sign-in page answers 429 until the window has passed.

Counters live in the cache (Redis), not in tables: a failure bumps two counters (name +
address, address) that expire with the window; a successful sign-in clears the name's
counter. The answer is the same whether the user exists or not, and a throttled attempt is
not checked at all, so it neither reveals nor confirms a password. If the cache is down,
sign-in still works (unthrottled) and the problem is logged: being locked out of Growth
because Redis restarted would be worse.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from growth.audit import client_ip

logger = logging.getLogger(__name__)


def _limits() -> tuple[int, int, int]:
    """(failures per name and address, failures per address, window in seconds)."""
    return (
        settings.LOGIN_FAILURE_LIMIT,
        settings.LOGIN_FAILURE_LIMIT_PER_IP,
        settings.LOGIN_FAILURE_WINDOW_MINUTES * 60,
    )


def _keys(username: str, ip: str) -> tuple[str, str]:
    # Hashed: user names and addresses are personal data and need not sit in Redis readable.
    name = hashlib.sha256(f"{username.strip().lower()}\0{ip}".encode()).hexdigest()
    address = hashlib.sha256(ip.encode()).hexdigest()
    return f"login-fail:name:{name}", f"login-fail:ip:{address}"


@dataclass(frozen=True)
class Lock:
    seconds: int  # until the oldest failure of the window has expired

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))


def throttled(username: str, ip: str) -> Lock | None:
    """The lock on this name from this address (or on the address), or None."""
    per_name, per_ip, window = _limits()
    keys = _keys(username, ip)
    try:
        found = cache.get_many([*keys, *(f"{k}:since" for k in keys)])
    except Exception:
        logger.warning("login throttle: cache unavailable, not throttling", exc_info=True)
        return None
    now = time.time()
    for key, limit in zip(keys, (per_name, per_ip), strict=True):
        if int(found.get(key) or 0) >= limit:
            since = float(found.get(f"{key}:since") or now)
            return Lock(seconds=max(1, math.ceil(since + window - now)))
    return None


def failure_count(username: str, ip: str) -> None:
    """Count one failed sign-in against the name from this address and against the address."""
    _per_name, _per_ip, window = _limits()
    try:
        for key in _keys(username, ip):
            # The window starts at the first failure; both keys expire with it.
            cache.add(f"{key}:since", time.time(), window)
            if not cache.add(key, 1, window):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, window)
    except Exception:
        logger.warning("login throttle: cache unavailable, failure not counted", exc_info=True)


def failures_clear(username: str, ip: str) -> None:
    """A successful sign-in forgives the name's failures (not the address's: one good
    account must not reset the count of an address guessing at others)."""
    name_key, _ip_key = _keys(username, ip)
    try:
        cache.delete_many([name_key, f"{name_key}:since"])
    except Exception:
        logger.warning("login throttle: cache unavailable, counter not cleared", exc_info=True)


class ThrottledLoginView(auth_views.LoginView):
    """Django's LoginView (session key rotated on sign-in, `next` checked) with throttling."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        lock = throttled(username, client_ip(request) or "")
        if lock is None:
            return super().post(request, *args, **kwargs)
        # Not checked at all: an unbound form (the name kept) and the lock's message.
        form = self.form_class(request, initial={"username": username})
        message = ngettext(
            "Too many failed sign-ins; try again in %(minutes)d minute.",
            "Too many failed sign-ins; try again in %(minutes)d minutes.",
            lock.minutes,
        ) % {"minutes": lock.minutes}
        response = self.render_to_response(
            self.get_context_data(form=form, throttled=message), status=429
        )
        response["Retry-After"] = str(lock.seconds)
        return response

    def form_valid(self, form: Any) -> HttpResponse:
        failures_clear(form.cleaned_data.get("username", ""), client_ip(self.request) or "")
        return super().form_valid(form)

    def form_invalid(self, form: Any) -> HttpResponse:
        failure_count(
            str(self.request.POST.get("username", ""))[:150], client_ip(self.request) or ""
        )
        return super().form_invalid(form)
