"""Fixtures of the API tests: keys with chosen scopes, and a rep with a queue of its own."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from growth.api import scopes
from growth.api.keys import api_key_create
from growth.roles import Role

ALL_WRITE = dict.fromkeys(scopes.RESOURCES, scopes.Level.WRITE)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_for_fresh_window(margin: float = 8.0) -> None:
    """Rate limits count per clock minute: start a burst well inside one."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.2)


@pytest.fixture
def admin(user_with_role):  # type: ignore[no-untyped-def]
    return user_with_role(Role.ADMIN)


@pytest.fixture
def make_key(admin) -> Callable[..., str]:  # type: ignore[no-untyped-def]
    """`make_key({"contacts": "read"}, expires_at=…)` → the plain key."""

    def make(key_scopes: dict[str, str] | None = None, **fields: Any) -> str:
        return api_key_create(
            name="test", scopes=key_scopes or ALL_WRITE, created_by=admin, **fields
        ).plain

    return make


@pytest.fixture
def key(make_key) -> str:  # type: ignore[no-untyped-def]
    return make_key()
