"""Data and requests for the read scenarios: contact search and one contact's timeline.

The shop is generated in SQL (generate_series), so even the documented large size
(--contacts 1000000 --events 20000000) loads in minutes; the pages are read as a signed-in
admin, through the real views, middleware and templates.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from bench import ingest

LAST_NAMES = 5_000  # distinct last names: a search matches about contacts / 5,000 rows
# Where the list filters look: weighted like a shop's (many subscribers, few VIPs).
STAGES = [  # 20 shares of 5 %
    *["subscriber"] * 7,
    *["lead"] * 4,
    *["mql", "sql", "opportunity", "customer", "customer"],
    *["repeat_customer", "vip", "at_risk", "churned"],
]
COUNTRIES = ["US", "US", "US", "GB", "DE", "FR", "CA", "AU", "NL", "ES"]
CHANNELS = ["direct", "google / organic", "google / cpc", "email", "facebook / paid", "referral"]
EVENT_NAMES = [
    "Page Viewed",
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
]

SESSION_SCRIPT = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
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


def prepare(
    database_url: str, env: dict[str, str], *, contacts: int, events: int, reuse: bool = False
) -> ReadData:
    """The shop the read scenarios read. With `reuse`, the one already in the database when it
    is exactly a generated shop of this size (the large one takes minutes to generate);
    otherwise the leads tables are emptied and a new one generated."""
    if reuse:
        with ingest._connect(database_url) as conn:
            found, first_id, last_id = conn.execute(
                "SELECT count(*), min(id), max(id) FROM leads_contact"
            ).fetchone()
            found_events = conn.execute("SELECT count(*) FROM leads_event").fetchone()[0]
        if (found, found_events) == (contacts, events) and last_id - first_id + 1 == contacts:
            print(f"reusing the generated {contacts:,} contacts / {events:,} events")
            return ReadData(_sign_in(env), first_id, last_id, contacts, events)
    ingest.truncate_leads(database_url)
    print(f"generating {contacts:,} contacts / {events:,} events ...", flush=True)
    return populate(database_url, env, contacts=contacts, events=events)


def populate(database_url: str, env: dict[str, str], *, contacts: int, events: int) -> ReadData:
    """Fill the (truncated) leads tables with `contacts` contacts and `events` events spread
    over them, analyse, and sign in a bench admin. Returns what the requests need.

    Contacts vary where the list filters look (stage, country, source, never seen, e-mail
    consent), so the filter plans read a realistic spread. A contact's events are scattered
    over the table, as when they arrive over months. The secondary indexes and the foreign
    keys of the filled tables are dropped while the rows go in and made again from their own
    definitions afterwards, all in one transaction (an interrupted run leaves them as they
    were): building an index or checking a key once is many times faster than doing it
    20,000,000 times."""
    from psycopg import sql

    with ingest._connect(database_url) as conn, conn.transaction():
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        # Foreign keys are deferred to the commit, and no index can be built over rows whose
        # checks are still pending: check them statement by statement instead.
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        indexes = _secondary_indexes(conn, "leads_contact") + _secondary_indexes(
            conn, "leads_event"
        )
        for name, _statements in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        # A foreign key checks (and locks) its contact row for every event: 20,000,000
        # lookups. Added back afterwards, it checks them all in one join.
        foreign_keys = _foreign_keys(conn, "leads_consent") + _foreign_keys(conn, "leads_event")
        for table, name, _definition in foreign_keys:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
        conn.execute(
            """
            INSERT INTO leads_contact (first_name, last_name, email, phone, country, time_zone,
                locale, company, properties, lifecycle_stage, score, first_touch, last_touch,
                source_channel, created_at, updated_at, last_seen_at)
            SELECT 'First' || (g %% 700), 'Last' || (g %% %(names)s), 'person' || g || '@example.com',
                '+1555' || lpad(g::text, 7, '0'), (%(countries)s::text[])[1 + g / 7 %% 10],
                'America/New_York', 'en-US', '', '{}',
                (%(stages)s::text[])[1 + g / 3 %% 20], g %% 100, '{}', '{}',
                (%(channels)s::text[])[1 + g / 11 %% 6],
                now() - g * interval '1 minute', now(),
                CASE WHEN g %% 5 = 0 THEN NULL ELSE now() - g * interval '1 second' END
            FROM generate_series(1, %(contacts)s) AS g
            """,
            {
                "contacts": contacts,
                "names": LAST_NAMES,
                "countries": COUNTRIES,
                "stages": STAGES,
                "channels": CHANNELS,
            },
        )
        first_id, last_id = conn.execute("SELECT min(id), max(id) FROM leads_contact").fetchone()
        conn.execute(
            """
            INSERT INTO leads_consent (contact_id, channel, status, source, changed_at, proof)
            SELECT id, 'email', (ARRAY['granted', 'granted', 'denied', 'unknown'])[1 + mod(id, 4)],
                'bench', created_at, '{}'
            FROM leads_contact WHERE mod(id, 3) <> 0
            """
        )
        conn.execute(
            """
            INSERT INTO leads_event (contact_id, source_id, session_id, name, properties,
                occurred_at, received_at, message_id)
            SELECT %(first)s + (g %% %(contacts)s), NULL, NULL, (%(names)s::text[])[1 + g %% 5],
                (%(products)s::jsonb[])[1 + g %% 40],
                now() - (g %% 100000) * interval '1 minute', now(), ''
            FROM generate_series(1, %(events)s) AS g
            """,
            {
                "first": first_id,
                "contacts": contacts,
                "events": events,
                "names": EVENT_NAMES,
                # The 40 documents are built once, not once per row.
                "products": [json.dumps({"product_id": f"p-{i}"}) for i in range(40)],
            },
        )
        for _name, statements in indexes:
            for statement in statements:
                conn.execute(statement)
        for table, name, definition in foreign_keys:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
                )
            )
    with ingest._connect(database_url) as conn:
        # VACUUM too: a shop's tables have been through autovacuum, so index-only scans
        # (the event-name index carries the contact) find their pages all-visible.
        conn.execute("VACUUM (ANALYZE) leads_contact, leads_consent, leads_event")
    return ReadData(_sign_in(env), first_id, last_id, contacts, events)


def _secondary_indexes(conn: Any, table: str) -> list[tuple[str, list[str]]]:
    """(name, statements that build it again) of the indexes no constraint owns (not the
    primary key, not a unique constraint's), statistics targets of their columns included."""
    rows = conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid),
            ARRAY(SELECT format('ALTER INDEX %%I ALTER COLUMN %%s SET STATISTICS %%s',
                                i.relname, a.attnum, a.attstattarget)
                  FROM pg_attribute a WHERE a.attrelid = x.indexrelid AND a.attstattarget >= 0)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY 1
        """,
        [table],
    ).fetchall()
    return [(name, [create, *targets]) for name, create, targets in rows]


def _foreign_keys(conn: Any, table: str) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the foreign keys of `table`."""
    rows = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY 1",
        [table],
    ).fetchall()
    return [(table, name, definition) for name, definition in rows]


def _sign_in(env: dict[str, str]) -> str:
    """The session cookie of a bench admin, signed in through a real session."""
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
    return f"sessionid={session_key}"


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
