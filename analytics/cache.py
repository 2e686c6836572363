"""Figures over every customer, cached until the data they read changes.

Most dashboard figures read a period's rows of a daily rollup and need no cache. A few read
all customers whatever the period (the RFM grid, predictive CLV): those are kept in the cache
under the data version, which the rollup refresh and the CLV fit move on when they change
something, and for at most `TTL` seconds (the RFM cutoffs are recomputed elsewhere).

With a read replica (growth/replica.py) a figure is computed there only when the replica
has replayed everything the primary had committed once the version was read, and on the
primary otherwise: whatever computed it, a figure under a version holds that version's
data, so the key needs no alias and a lagging replica never caches old figures as current.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction

from growth import replica

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
            alias = replica.current_alias()
            # Asked after the version was read: a replica caught up now holds its data.
            if not replica.caught_up(alias):
                alias = DEFAULT_DB_ALIAS
            with replica.reads_from(alias):
                value = function(*args)
            cache.set(key, value, timeout=TTL)
        return value

    return wrapper
