"""Server-side binding and prepared statements are opt-in (DATABASE_SERVER_SIDE_BINDING,
DATABASE_PREPARE_THRESHOLD): checked on a real connection made by a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.db import connection
connection.ensure_connection()
raw = connection.connection
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    kind = type(cursor.cursor).__name__
print(json.dumps({"cursor": kind, "prepare_threshold": raw.prepare_threshold}))
"""


def _probe(**env: str) -> dict[str, object]:
    # The server's maintenance database: the one DATABASE_URL names may not exist (the
    # tests run in a test_ copy of it).
    db = settings.DATABASES["default"]
    user = quote(db["USER"]) + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    server = f"postgres://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/postgres"
    values = {**os.environ, "DJANGO_SETTINGS_MODULE": "growth.settings", **env}
    values["DATABASE_URL"] = server
    for name in ("DATABASE_SERVER_SIDE_BINDING", "DATABASE_PREPARE_THRESHOLD"):
        if name not in env:
            values.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=values,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_statements_are_bound_client_side_and_never_prepared_by_default() -> None:
    assert _probe() == {"cursor": "Cursor", "prepare_threshold": None}


def test_server_side_binding_and_prepared_statements_when_asked() -> None:
    got = _probe(DATABASE_SERVER_SIDE_BINDING="1", DATABASE_PREPARE_THRESHOLD="5")
    assert got == {"cursor": "ServerBindingCursor", "prepare_threshold": 5}
