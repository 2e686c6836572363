"""Rate limits hold under a burst: concurrent requests against the live server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from growth.api.keys import api_key_create
from growth.roles import Role
from tests.api.conftest import bearer, wait_for_fresh_window

pytestmark = pytest.mark.django_db

LIMIT = 10
BURST = 40


def fetch(url: str, headers: dict[str, str]) -> tuple[int, str | None, dict]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (the live server)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status, response.headers.get("Retry-After"), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After"), json.load(error)


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_concurrent_requests_gets_exactly_the_limit(live_server, user_with_role):
    admin = user_with_role(Role.ADMIN)
    plain = api_key_create(
        name="burst", scopes={"contacts": "read"}, created_by=admin, rate_limit_per_minute=LIMIT
    ).plain
    other = api_key_create(name="other", scopes={"contacts": "read"}, created_by=admin).plain
    url = f"{live_server.url}/api/v1/contacts/"
    wait_for_fresh_window()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _i: fetch(url, bearer(plain)), range(BURST)))
    statuses = Counter(status for status, _retry, _body in answers)
    assert statuses == {200: LIMIT, 429: BURST - LIMIT}
    for status, retry_after, body in answers:
        if status == 429:
            assert retry_after is not None and 1 <= int(retry_after) <= 60
            assert body["error"]["code"] == "throttled"
            assert "Retry in" in body["error"]["message"]
    # Limits are per key: another key is untouched.
    assert fetch(url, bearer(other))[0] == 200


def test_a_signed_in_user_is_limited_too(client_as, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    client = client_as(Role.MARKETER)
    wait_for_fresh_window()
    statuses = [client.get("/api/v1/contacts/").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
