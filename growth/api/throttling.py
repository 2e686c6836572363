"""Rate limit per API key (its own per-minute figure) and per signed-in user
(API_RATE_LIMIT_PER_MINUTE), in Redis.

A fixed one-minute window: INCR of one counter per caller and minute, in a single round
trip. INCR is atomic, so a burst of concurrent requests cannot slip past the limit. When
Redis is down the API stays up (the limit is a guard, not a gate) and says so in the log.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from growth.health import redis_client
from growth.models import ApiKey

logger = logging.getLogger(__name__)
WINDOW = 60  # seconds
COUNTER = "growth:api:rate:{who}:{window}"


def hit(who: str, limit: int, now: float | None = None) -> float | None:
    """Count one request of `who`; None when allowed, else seconds until the next window."""
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    counter = COUNTER.format(who=who, window=window)
    pipe = redis_client().pipeline(transaction=True)
    pipe.incr(counter)
    pipe.expire(counter, WINDOW + 5)
    count, _expiry = pipe.execute()
    if count <= limit:
        return None
    return (window + 1) * WINDOW - now


class RateLimit(BaseThrottle):
    wait_seconds: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth if isinstance(request.auth, ApiKey) else None
        if key is not None:
            who, limit = f"key:{key.pk}", key.rate_limit_per_minute
        elif request.user and request.user.is_authenticated:
            who, limit = f"user:{request.user.pk}", settings.API_RATE_LIMIT_PER_MINUTE
        else:
            return True  # refused anyway: nobody to count
        try:
            self.wait_seconds = hit(who, limit)
        except redis.RedisError:
            logger.warning("API rate limit not applied: Redis is unreachable", exc_info=True)
            return True
        return self.wait_seconds is None

    def wait(self) -> float | None:
        # Whole seconds for Retry-After, never 0 (that would invite an immediate retry).
        return max(1, math.ceil(self.wait_seconds)) if self.wait_seconds is not None else None
