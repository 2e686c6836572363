"""Production settings refuse to start without SECRET_KEY, with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_django(env_overrides: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "growth.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_secret_key_fails_with_one_clear_line():
    result = run_django({"DEBUG": "0", "SECRET_KEY": None})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SECRET_KEY environment variable is not set" in lines[0]
    assert "started" not in result.stdout


def test_empty_secret_key_counts_as_missing():
    result = run_django({"DEBUG": "0", "SECRET_KEY": ""})
    assert result.returncode == 1
    assert "SECRET_KEY" in result.stderr


def test_production_with_secret_key_starts():
    result = run_django({"DEBUG": "0", "SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_debug_mode_runs_without_secret_key():
    result = run_django({"DEBUG": "1", "SECRET_KEY": None})
    assert result.returncode == 0, result.stderr
