"""The web service as the README's production command starts it, for tests written from the attacker's side.

`gunicorn config.wsgi -w 4` (sync workers, default timeout, no setting lowered) on a free loopback port,
against this test run's own PostgreSQL database and Redis. Tests that use it build their data through the
ORM with `transactional_db` (committed, so gunicorn's workers see it) and then talk HTTP only.

    @pytest.mark.postgres
    @pytest.mark.redis
    def test_something(live_service, transactional_db):
        response = requests.get(live_service.url("/api/v1/customers"), headers=..., timeout=5)
"""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.concurrency import wait_until
from tests.http_servers import free_port
from tests.workers import worker_database_url

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


class LiveService:
    """One gunicorn master with `workers` sync workers; `env` adds to (or overrides) the defaults below."""

    def __init__(self, workdir: Path, *, workers: int = 4, env: dict[str, str] | None = None):
        self.workdir = workdir
        self.workers = workers
        self.port = free_port()
        self.log = workdir / "gunicorn.log"
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "DATABASE_", "PYTEST_", "CELERY_"))
        }
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=worker_database_url(),
            DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(48),
            GARMAX_DATA_DIR=str(self.workdir / "data"),
            PUBLIC_BASE_URL=self.url(),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> "LiveService":
        command = [str(GUNICORN), "config.wsgi", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}"]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.environment(), stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_until(
                lambda: self.process.poll() is None and requests.get(self.url("/health"), timeout=2).ok,
                timeout=60,
                interval=0.2,
                ignore=(requests.RequestException,),
                message="gunicorn did not answer /health",
            )
        except AssertionError:
            self.stop()
            raise AssertionError(f"gunicorn did not start:\n{self.log_text()[-3000:]}") from None
        return self

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def live_service(django_db_setup, django_db_blocker, tmp_path_factory):
    """The README's production web command, shared by a module's tests (each builds its own data)."""
    service = LiveService(tmp_path_factory.mktemp("live-service")).start()
    yield service
    service.stop()
