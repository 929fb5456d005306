"""The one way tests (and bench/) start a real `celery -A config worker` process and stop it again.

Readiness is the worker's own " ready." log line, which Celery writes at INFO: start the worker with
`--loglevel INFO` and a `log` file to wait for it, or pass `wait_ready=False` and poll for the work instead.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.concurrency import wait_until

ROOT = Path(__file__).resolve().parents[1]
CELERY = Path(sys.executable).with_name("celery")


def worker_command(*args: str) -> list[str]:
    """`celery -A config worker <args>` from this virtualenv."""
    return [str(CELERY), "-A", "config", "worker", *args]


def worker_database_url() -> str:
    """The URL of the database this test runs on (the test database, not the one DATABASE_URL names)."""
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(
    *args: str,
    env: dict[str, str] | None = None,
    log: Path | str | None = None,
    wait_ready: bool = True,
    ready_timeout: float = 60.0,
) -> subprocess.Popen:
    """Start a worker from the repository root with `env` (default: this process's environment).

    Its output is appended to `log` (or discarded). With `wait_ready`, return once the worker logged that it
    is ready; fail with the log's tail if it exits or is not ready within `ready_timeout` seconds.
    """
    if wait_ready and log is None:
        raise ValueError("waiting for readiness needs the worker's log")
    with open(log if log is not None else os.devnull, "ab") as out:
        process = subprocess.Popen(
            worker_command(*args),
            cwd=ROOT,
            env=os.environ.copy() if env is None else env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if wait_ready:
        log = Path(log)
        try:
            wait_until(lambda: _ready(log) or process.poll() is not None, timeout=ready_timeout, interval=0.1)
        finally:
            if process.poll() is not None or not _ready(log):
                stop_worker(process)
                raise AssertionError(f"the worker did not start:\n{log.read_text()[-3000:]}")
    return process


def _ready(log: Path) -> bool:
    return b" ready." in log.read_bytes()


def stop_worker(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Warm shutdown (SIGTERM: finish the current task), killed if it takes longer than `timeout`."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
