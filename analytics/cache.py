"""Figures over every customer, cached until the data they read changes.

Most dashboard figures read a period's rows of a daily rollup and need no cache. A few read
all customers whatever the period (the RFM grid, predictive CLV): those are kept in the cache
under the data version, which the rollup refresh and the CLV fit move on when they change
something, and for at most `TTL` seconds (the RFM cutoffs are recomputed elsewhere).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "analytics:data-version"
TTL = 60

T = TypeVar("T")


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet
        cache.set(VERSION_KEY, 1, timeout=None)


def data_changed() -> None:
    """The rollups or the predictions changed. Moved on now (this transaction reads its own
    writes) and again on commit (a figure cached meanwhile from the old data is dropped)."""
    _bump()
    transaction.on_commit(_bump)


def cached_figure(function: Callable[..., T]) -> Callable[..., T]:
    """Cache `function(*args)` under its arguments' repr and the data version."""

    @wraps(function)
    def wrapper(*args: Any) -> T:
        version = cache.get(VERSION_KEY, 0)
        digest = hashlib.sha256(repr(args).encode()).hexdigest()[:32]
        key = f"analytics:{function.__module__}.{function.__qualname__}:{version}:{digest}"
        value = cache.get(key)
        if value is None:
            value = function(*args)
            cache.set(key, value, timeout=TTL)
        return value

    return wrapper
