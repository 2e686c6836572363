"""Waiting for work that a real worker, server or browser does asynchronously."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(check: Callable[[], T], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Call `check` until it returns something truthy or `timeout` passes; return its last
    answer. Bounded, so a test that waits in vain fails instead of hanging."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    return check()
