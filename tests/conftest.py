from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from growth.health import redis_client
from growth.roles import Role
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _forget_cached_write_keys() -> None:
    """Sources are re-created with new ids from test to test; no cached lookup may outlive one."""
    from leads.services.sources import _forget_keys

    _forget_keys()


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """A request in Chinese leaves Chinese active in the thread (Django activates a language
    per request and never resets it): every test starts in the settings' language."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _forget_cached_rates() -> None:
    from growth.currency import forget_rates

    forget_rates()


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Each test starts with an empty test Redis database (heartbeats, cache, broker)."""
    redis_client().flushdb()
    yield


@pytest.fixture
def user_with_role(db) -> Callable[..., object]:  # type: ignore[no-untyped-def]
    from growth.services import roles_sync

    roles_sync()  # transactional tests empty every table, the role groups included

    def make(*roles: Role, **fields: object) -> object:
        return UserFactory(roles=roles, **fields)

    return make


@pytest.fixture
def client_as(client: Client, user_with_role) -> Callable[..., Client]:  # type: ignore[no-untyped-def]
    """`client_as(Role.REP)` → a test client signed in as a fresh user with that role."""

    def sign_in(*roles: Role) -> Client:
        client.force_login(user_with_role(*roles))
        return client

    return sign_in


@pytest.fixture
def celery_worker(transactional_db) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A real Celery worker (solo pool, in a thread) consuming the real Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from growth.celery import ALL_QUEUES, app

    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10,
        queues=ALL_QUEUES.split(","),
    ) as worker:
        yield worker


@pytest.fixture
def tracking_source(db):  # type: ignore[no-untyped-def]
    """A tracking source and its write key."""
    from leads.models import Source
    from leads.services.sources import source_create

    return source_create(
        name="Storefront", kind=Source.Kind.TRACKING, allowed_origins=["https://shop.example"]
    )


@pytest.fixture
def shopify_source(db):  # type: ignore[no-untyped-def]
    from leads.models import Source
    from leads.services.sources import source_create

    return source_create(
        name="Shopify store", kind=Source.Kind.SHOPIFY, secret="shpss_test_secret"
    )[0]


@pytest.fixture
def woo_source(db):  # type: ignore[no-untyped-def]
    from leads.models import Source
    from leads.services.sources import source_create

    return source_create(name="Woo store", kind=Source.Kind.WOOCOMMERCE, secret="woo_test_secret")[
        0
    ]
