"""A Celery worker loads the send path in its main process, before the pool forks, so no
child pays the lazy imports (the twilio client's ~100 modules, anymail's SendGrid backend)
during its first batch. Checked in a fresh interpreter: in this one the test run has
imported everything already."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json, sys
import django
django.setup()
import growth.celery  # what `celery -A growth worker` imports: the app and its signals
from celery.signals import worker_init
from django.db import connections

LAZY = json.loads(sys.argv[1])
before = [name for name in LAZY if name in sys.modules]
worker_init.send(sender=None)  # what WorkController.__init__ sends before the pool starts
after = [name for name in LAZY if name in sys.modules]
opened = [c.alias for c in connections.all(initialized_only=True) if c.connection is not None]
print(json.dumps({"before": before, "after": after, "db_connections": opened}))
"""

# Imported on a process's first send, unless the worker's main process loaded them.
LAZY = [
    "automations.services.sending",
    "anymail.backends.sendgrid",
    "twilio.rest.api",
    "twilio.rest.api.v2010.account.message",
]


def test_the_worker_loads_the_send_path_before_forking_and_opens_nothing() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "growth.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "x" * 50,
        # E-mail through anymail's SendGrid backend, as in production; never reached here.
        "SENDGRID_API_KEY": "preload-test-key",
        "SENDGRID_API_URL": "http://127.0.0.1:9/v3/",
    }
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(LAZY)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    # Not loaded by the app itself (else this test would prove nothing) …
    assert seen["before"] == [], seen
    # … but by the worker's start, in the process the children are forked from,
    assert seen["after"] == LAZY, out.stderr
    # which must not hold a database connection the children would inherit.
    assert seen["db_connections"] == []
