"""Data and requests for the read scenarios: contact search and one contact's timeline.

The shop is generated in SQL (generate_series), so even the documented large size
(--contacts 1000000 --events 20000000) loads in minutes; the pages are read as a signed-in
admin, through the real views, middleware and templates.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from bench import ingest

LAST_NAMES = 5_000  # distinct last names: a search matches about contacts / 5,000 rows
EVENT_NAMES = [
    "Page Viewed",
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
]

SESSION_SCRIPT = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from growth.models import User
from growth.services import roles_sync
roles_sync()
user, _ = User.objects.get_or_create(username="bench-admin")
user.groups.set(Group.objects.filter(name="admin"))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


@dataclass(frozen=True)
class ReadData:
    cookie: str
    first_id: int
    last_id: int
    contacts: int
    events: int


def populate(database_url: str, env: dict[str, str], *, contacts: int, events: int) -> ReadData:
    """Fill the (truncated) leads tables with `contacts` contacts and `events` events spread
    over them, analyse, and sign in a bench admin. Returns what the requests need."""
    with ingest._connect(database_url) as conn:
        conn.execute(
            """
            INSERT INTO leads_contact (first_name, last_name, email, phone, country, time_zone,
                locale, company, properties, lifecycle_stage, score, first_touch, last_touch,
                source_channel, created_at, updated_at, last_seen_at)
            SELECT 'First' || (g %% 700), 'Last' || (g %% %(names)s), 'person' || g || '@example.com',
                '+1555' || lpad(g::text, 7, '0'), 'US', 'America/New_York', 'en-US', '', '{}',
                'subscriber', g %% 100, '{}', '{}', 'direct',
                now() - (g || ' minutes')::interval, now(), now() - (g || ' seconds')::interval
            FROM generate_series(1, %(contacts)s) AS g
            """,
            {"contacts": contacts, "names": LAST_NAMES},
        )
        first_id, last_id = conn.execute("SELECT min(id), max(id) FROM leads_contact").fetchone()
        conn.execute(
            """
            INSERT INTO leads_event (contact_id, source_id, session_id, name, properties,
                occurred_at, received_at, message_id)
            SELECT %(first)s + (g %% %(contacts)s), NULL, NULL, (%(names)s::text[])[1 + g %% 5],
                jsonb_build_object('product_id', 'p-' || (g %% 40)),
                now() - ((g %% 100000) || ' minutes')::interval, now(), ''
            FROM generate_series(1, %(events)s) AS g
            """,
            {"first": first_id, "contacts": contacts, "events": events, "names": EVENT_NAMES},
        )
        conn.execute("ANALYZE leads_contact")
        conn.execute("ANALYZE leads_event")
    result = subprocess.run(
        [sys.executable, str(ingest.REPO / "manage.py"), "shell", "-c", SESSION_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise ingest.SetupError(f"could not sign in a bench admin: {result.stderr[-2000:]}")
    session_key = result.stdout.strip().splitlines()[-1]
    return ReadData(f"sessionid={session_key}", first_id, last_id, contacts, events)


def _headers(data: ReadData) -> dict[str, str]:
    return {"Host": "localhost", "Cookie": data.cookie}


def search_path(rng: random.Random, data: ReadData) -> str:
    return f"/contacts/?q=last{rng.randrange(LAST_NAMES)}"


def timeline_path(rng: random.Random, data: ReadData) -> str:
    return f"/contacts/{rng.randint(data.first_id, data.last_id)}/"


def requests_for(data: ReadData, pick: Any, seed: str) -> Any:
    """A thread-safe factory of GET requests whose path `pick(rng, data)` chooses."""
    rng = random.Random(seed)
    lock = threading.Lock()
    headers = _headers(data)

    def make() -> tuple[str, dict[str, str]]:
        with lock:
            path = pick(rng, data)
        return path, headers

    return make
