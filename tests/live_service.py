"""The web service as the README's production command starts it, for tests written from the attacker's side.

`gunicorn config.wsgi -w 4` (sync workers, default timeout, no setting lowered) on a free loopback port,
against this test run's own PostgreSQL database and Redis. Tests that use it build their data through the
ORM with `transactional_db` (committed, so gunicorn's workers see it) and then talk HTTP only.

    @pytest.mark.postgres
    @pytest.mark.redis
    def test_something(live_service, transactional_db):
        key = partner_headers(make_organization())
        customers = response_json(live_service, "GET", "/api/v1/customers", headers=key)

Below it, the helpers such tests share: credentials as headers (`partner_headers`, `jwt_headers`), a call
that asserts its status (`response_json`), the usage flush the beat task would run (`usage_flush_after_push`),
and a worker beside the service (`LiveService.start_worker`).
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from rest_framework_simplejwt.tokens import RefreshToken

from apikeys import services as apikey_services
from tests.concurrency import wait_until
from tests.http_servers import free_port
from tests.workers import start_worker, worker_database_url
from usage import buffer

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

    def start_worker(self, *args: str, log: Path, **options) -> subprocess.Popen:
        """`celery -A config worker <args>` with this service's settings (its database, Redis and data
        folder), as the README runs one beside the web; `options` go to tests.workers.start_worker."""
        return start_worker(*args, env=self.environment(), log=log, **options)

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


def partner_headers(organization, *, name: str = "shop", mode: str = "live") -> dict[str, str]:
    """The `X-API-Key` header of a new all-scope key of `organization` (`mode` "test": its sandbox's)."""
    _, raw_key = apikey_services.apikey_create(
        organization=organization, name=name, scopes=["all"], mode=mode
    )
    return {"X-API-Key": raw_key}


def jwt_headers(user) -> dict[str, str]:
    """A bearer header for `user`, minted here with the service's secret: this test run hashes passwords
    with a fast hasher the service does not have, so signing in over HTTP would fail."""
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


def response_json(service: LiveService, method: str, path: str, *, expect=(200, 201), **kwargs) -> dict:
    """`method path` on `service`; asserts the status is one of `expect` and returns the JSON body."""
    response = requests.request(method, service.url(path), timeout=kwargs.pop("timeout", 30), **kwargs)
    assert response.status_code in expect, (method, path, response.status_code, response.text[:300])
    return response.json()


def usage_flush_after_push() -> None:
    """Flush usage as the beat task would, once every gunicorn worker has pushed its batch (every second)."""
    time.sleep(1.5)
    buffer.usage_flush()


@pytest.fixture(scope="module")
def live_service(django_db_setup, django_db_blocker, tmp_path_factory):
    """The README's production web command, shared by a module's tests (each builds its own data)."""
    service = LiveService(tmp_path_factory.mktemp("live-service")).start()
    yield service
    service.stop()
