"""The beat schedule: built from settings once they are configured, never while a settings module imports."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _schedule_seen_by(settings_module: str, **env) -> str:
    code = (
        "import django; django.setup(); from config.celery import app; "
        "print(app.conf.beat_schedule['sweep-stuck-tryons']['schedule'])"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, **env}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_a_settings_module_that_extends_ours_starts_and_keeps_the_sweeper():
    # bench/apikeys_settings.py imports config.settings, which imports the Celery app mid-way.
    assert _schedule_seen_by("bench.apikeys_settings") == "15.0"


def test_the_sweeper_runs_as_often_as_the_setting_says():
    assert _schedule_seen_by("config.settings", TRYON_SWEEP_INTERVAL_SECONDS="7") == "7.0"
