"""The service as production runs it on this machine, as separate processes owned by the test session.

PostgreSQL is the machine's server (we create and drop our own `garmax_e2e_*` database). Redis is a private
`redis-server` on a free port, so the fault tests can stop and restart it without touching the Redis other
engineers' tests use. The Celery broker is that Redis, or (`broker="rabbitmq"`) the machine's RabbitMQ in a
virtual host of our own (created and deleted with the stack; tests/rabbitmq.py), with Redis still the cache.
S3 is moto's server mode on loopback. gunicorn, a Celery worker and Celery beat run with the production
settings (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, S3_*). Every process is started in its own session
and torn down by its process-group id, so a prefork worker's children go with it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests import rabbitmq
from tests.concurrency import wait_until
from tests.http_servers import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_ADMIN = [
    "psql",
    "-h",
    "127.0.0.1",
    "-p",
    "5432",
    "-U",
    "postgres",
    "-d",
    "postgres",
    "-v",
    "ON_ERROR_STOP=1",
]
BUCKET = "garmax-e2e"

STAFF_USERNAME = "e2e-staff"


def _note_for_cleanup(line: str) -> None:
    """.ci/e2e passes E2E_STATE_FILE and, on exit, kills every group and drops every database listed there:
    the last line of defence if this pytest process itself is killed before its finalizers run."""
    state_file = os.environ.get("E2E_STATE_FILE")
    if state_file:
        with open(state_file, "a") as handle:
            handle.write(line + "\n")


# What `wait_until` takes for "not yet" here: a probe failing (a server still starting, a request sent while a
# fault test has broken a part) says nothing about whether the awaited state comes.
PROBE_FAILURES = (Exception,)


@dataclass
class Process:
    """One long-running child, logging to its own file, stopped by its process-group id."""

    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self, env: dict[str, str]) -> Process:
        log = self.log_path.open("ab")
        log.write(f"\n===== start {' '.join(self.argv)}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        _note_for_cleanup(f"pid {self.popen.pid}")
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def _signal_group(self, sig: int) -> None:
        # The child is its own session leader, so its pid is also the group id of everything it forked.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def kill(self) -> None:
        """kill -9 the process and everything it forked, as a crashed machine would."""
        if self.popen is None:
            return
        self._signal_group(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        # Stragglers in the group (pool children) get the hard stop even if the leader exited cleanly.
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


BROKERS = ("redis", "rabbitmq")


@dataclass
class Stack:
    workdir: Path
    broker: str = "redis"
    web_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    s3_port: int = field(default_factory=free_port)
    worker_metrics_port: int = field(default_factory=free_port)
    database: str = field(default_factory=lambda: f"garmax_e2e_{os.getpid()}_{secrets.token_hex(3)}")
    processes: dict[str, Process] = field(default_factory=dict)
    staff_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    worker_generation: int = 0
    _database_created: bool = False
    vhost: str = ""
    broker_url: str = ""

    # --- addresses and environment ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def api(self) -> str:
        return f"{self.base_url}/api"

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:5432/{self.database}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(
                (
                    "DJANGO_",
                    "DATABASE_",
                    "REDIS_",
                    "AWS_",
                    "S3_",
                    "CELERY_",
                    "PYTEST_",
                    "RABBITMQ_",
                    "RENDER_REUSE_",
                )
            )
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_BROKER_URL=self.broker_url or self.redis_url,
            DJANGO_SECRET_KEY=self.secret_key,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            S3_BUCKET_NAME=BUCKET,
            AWS_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="e2e-dummy-access-key",
            AWS_SECRET_ACCESS_KEY="e2e-dummy-secret-key",  # moto accepts any credentials
            AWS_S3_ENDPOINT_URL=self.s3_endpoint,
            PUBLIC_BASE_URL=self.base_url,
            OUTBOUND_ALLOW_PRIVATE_NETWORKS="true",  # the garment server and webhook receiver are loopback
            GARMAX_DATA_DIR=str(self.workdir / "data"),
            # No shortened CELERY_VISIBILITY_TIMEOUT or heartbeat settings: the worker-kill test holds the
            # defaults to their promise (a dead worker's cart resumed within 2 minutes).
            LOG_LEVEL="INFO",
            # The operator user drives the fuzzer's and the flows' JWT calls: as high a limit as the keys'.
            API_USER_RATE_LIMIT="10000",
            PYTHONUNBUFFERED="1",
            # Metrics as the README runs them: a token for the web nodes' /metrics, one multiprocess
            # directory per service (_start gives each process its own; this one is for manage.py).
            METRICS_TOKEN=self.metrics_token,
            PROMETHEUS_MULTIPROC_DIR=str(self._metrics_dir("manage")),
        )
        return env

    def _metrics_dir(self, name: str) -> Path:
        path = self.workdir / "metrics" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _process_env(self, name: str) -> dict[str, str]:
        env = self.env()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(self._metrics_dir(name))
        if name == "web":
            env["LOG_FORMAT"] = "json"  # the operator's log shipper reads one JSON object per line
        if name.startswith("worker"):
            env["METRICS_PORT"] = str(self.worker_metrics_port)
        return env

    def __post_init__(self):
        if self.broker not in BROKERS:
            raise ValueError(f"broker must be one of {BROKERS}, got {self.broker!r}")
        self.secret_key = secrets.token_urlsafe(48)
        self.metrics_token = secrets.token_urlsafe(24)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir(exist_ok=True)

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Stack:
        self.start_redis()
        if self.broker == "rabbitmq":
            self.vhost = f"garmax_e2e_{os.getpid()}_{secrets.token_hex(3)}"
            _note_for_cleanup(f"vhost {self.vhost}")
            self.broker_url = rabbitmq.vhost_create(self.vhost)
        self._start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.s3_port)])
        self._create_database()
        wait_until(
            lambda: requests.get(self.s3_endpoint, timeout=2).ok,
            timeout=30,
            interval=0.2,
            ignore=PROBE_FAILURES,
            message="waiting for moto server",
        )
        self._create_bucket()
        self.manage("migrate", "--noinput")
        self._create_staff_user()
        self._start(
            "web",
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{self.web_port}",
                "--timeout",
                "60",
                "--access-logfile",
                "-",
            ],
        )
        wait_until(
            lambda: requests.get(f"{self.base_url}/health", timeout=2).ok,
            timeout=60,
            interval=0.2,
            ignore=PROBE_FAILURES,
            message="waiting for gunicorn",
        )
        self.start_worker()
        self._start(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.workdir / "data" / "celerybeat-schedule"),
            ],
        )
        wait_until(
            lambda: requests.get(f"{self.base_url}/health/ready", timeout=5).ok,
            timeout=30,
            interval=0.2,
            ignore=PROBE_FAILURES,
            message="waiting for readiness",
        )
        return self

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.processes[name].stop()
        if self.vhost:
            rabbitmq.vhost_delete(self.vhost)
        if self._database_created:
            subprocess.run(
                [*PG_ADMIN, "-c", f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'],
                capture_output=True,
                timeout=60,
                check=False,
            )

    def _start(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, self.workdir / f"{name}.log").start(self._process_env(name))
        self.processes[name] = process
        return process

    def _create_database(self) -> None:
        _note_for_cleanup(f"database {self.database}")
        subprocess.run(
            [*PG_ADMIN, "-c", f'CREATE DATABASE "{self.database}"'], check=True, capture_output=True
        )
        self._database_created = True

    def _create_bucket(self) -> None:
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="e2e-dummy-access-key",
            aws_secret_access_key="e2e-dummy-secret-key",
        )
        s3.create_bucket(Bucket=BUCKET)

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def shell(self, code: str) -> str:
        """Run Python in `manage.py shell` against the stack's database (operator access, not the API)."""
        return self.manage("shell", "-c", code).stdout

    def _create_staff_user(self) -> None:
        # The one step that is not HTTP: an operator creates the first staff user on the server.
        self.shell(
            "from django.contrib.auth import get_user_model\n"
            "from django.contrib.auth.models import Group\n"
            f"user = get_user_model().objects.create_user({STAFF_USERNAME!r}, 'staff@example.com', "
            f"{self.staff_password!r}, is_staff=True)\n"
            "user.groups.add(*Group.objects.filter(name__in=['billing', 'support']))\n"
        )

    # --- the parts the fault tests break and mend -------------------------------------------------
    def start_redis(self) -> Process:
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        process = self._start(
            "redis",
            [
                redis_server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
        )

        def pong() -> bool:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        wait_until(pong, timeout=15, interval=0.2, ignore=PROBE_FAILURES, message="waiting for redis-server")
        return process

    def stop_redis(self) -> None:
        self.processes["redis"].kill()

    def start_worker(self) -> Process:
        """A Celery worker started as the README says (no -Q: every queue); each call starts a new one."""
        self.worker_generation += 1
        process = self._start(
            f"worker{self.worker_generation}",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-c",
                "2",
                "--loglevel",
                "INFO",
                "-n",
                f"e2e{self.worker_generation}@%h",
            ],
        )
        wait_until(
            lambda: " ready." in process.log_text(),
            timeout=60,
            interval=0.2,
            ignore=PROBE_FAILURES,
            message="waiting for celery worker ready",
        )
        return process

    @property
    def worker(self) -> Process:
        return self.processes[f"worker{self.worker_generation}"]

    def terminate_database_connections(self) -> int:
        result = subprocess.run(
            [
                *PG_ADMIN,
                "-At",
                "-c",
                # The timeout makes each call wait until the backend has exited, as after a real restart.
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "  # noqa: S608 - our own db name
                f"WHERE datname = '{self.database}' AND pid <> pg_backend_pid()",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return int(result.stdout.strip() or 0)

    def diagnostics(self) -> str:
        parts = []
        for name, process in self.processes.items():
            state = "running" if process.alive() else f"exited {process.popen and process.popen.returncode}"
            parts.append(f"----- {name} ({state}) {process.log_path}\n{process.log_tail()}")
        return "\n".join(parts)
