"""Loaded by pytest before Django (`-p tests.bootstrap` in pyproject): picks the servers.

Tests run on the real PostgreSQL and Redis at 127.0.0.1 when they answer, otherwise on
the embedded ones (growth/devservices.py). Explicit DATABASE_URL / REDIS_URL win.
"""

from __future__ import annotations

import os
import socket


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growth.settings")
os.environ.setdefault("SECRET_KEY", "growth-tests-only-not-a-secret")
os.environ.setdefault("STATIC_MANIFEST", "0")
# Live-server threads must not keep connections open past a test (the test DB is dropped).
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
# Playwright's sync API runs an event loop in the test thread; the ORM calls we make from
# that same thread are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
if "DATABASE_URL" not in os.environ and _answers(5432):
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/growth"
if "REDIS_URL" not in os.environ and _answers(6379):
    # Database 15: tests flush it freely without touching a developer's data.
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/15"
