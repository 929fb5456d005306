"""Benchmark: what API-key authentication costs on the hot path.

Starts gunicorn (2 sync workers) on PostgreSQL + Redis and drives three views that read the same row with
wrk (16 connections): a bare DRF view, a partner view with the full key path (cached verification, scope,
GCRA rate limit, usage recording) and a view that runs bcrypt on every request. Prints req/s, p50, p99
and the two ratios the issue sets targets for (ours >= 0.7 x bare, >= 40 x bcrypt, p99 < 25 ms).

    .venv/bin/python bench/apikeys_auth.py [--duration 10] [--connections 16]

Environment (defaults in brackets): BENCH_DATABASE_URL [postgres://postgres@127.0.0.1:5432/garmax_bench],
BENCH_REDIS_URL [redis://127.0.0.1:6379/1]. The database is created if missing; the Redis db is flushed.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garmax_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")


def _environment() -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        DJANGO_SECRET_KEY="bench-" + "s" * 50,
        DJANGO_SETTINGS_MODULE="bench.apikeys_settings",
        PYTHONPATH=str(ROOT),
    )
    return env


def _create_database() -> None:
    name = DATABASE_URL.rsplit("/", 1)[1]
    server = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _prepare() -> tuple[str, str]:
    """Migrate, flush Redis, and create an organization and a key; returns (organization id, key)."""
    os.environ.update(_environment())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command

    from apikeys.services import apikey_create
    from organizations.services import organization_create

    call_command("migrate", interactive=False, verbosity=0)
    cache.clear()
    owner = get_user_model().objects.create_user(username=f"bench-{time.time_ns()}")
    organization = organization_create(owner=owner, name="Bench Fashion")
    _, raw_key = apikey_create(
        organization=organization, name="bench", scopes=["customers:read"], rate_limit=50_000_000
    )
    return organization.id, raw_key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_gunicorn(port: int) -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    return subprocess.Popen(
        [
            gunicorn,
            "config.wsgi:application",
            "--workers=2",
            "--worker-class=sync",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            "--access-logfile=/dev/null",
        ],
        cwd=ROOT,
        env=_environment(),
    )


def _wait_ready(base: str, organization_id: str) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            # base is our own http://127.0.0.1:<port>, never caller input
            with urllib.request.urlopen(f"{base}/bench/bare?org={organization_id}", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not become ready")


def _wrk(url: str, key: str | None, duration: int, connections: int) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    if key:
        command += ["-H", f"X-API-Key: {key}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in output:
        raise SystemExit(f"non-2xx responses from {url}:\n{output}")

    def latency_ms(percentile: str) -> float:
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": latency_ms("50"),
        "p99": latency_ms("99"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per variant")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (apt-get install -y wrk)")

    _create_database()
    organization_id, raw_key = _prepare()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_gunicorn(port)
    results = {}
    try:
        _wait_ready(base, organization_id)
        variants = [
            ("bare DRF view", f"{base}/bench/bare?org={organization_id}", None),
            ("partner (key+scope+limit+usage)", f"{base}/bench/partner", raw_key),
            ("bcrypt on every request", f"{base}/bench/bcrypt", raw_key),
        ]
        for name, url, key in variants:
            _wrk(url, key, 2, args.connections)  # warm-up: connections, caches, the key's verification
            results[name] = _wrk(url, key, args.duration, args.connections)
    finally:
        server.terminate()
        server.wait(timeout=15)

    from apikeys.usage import apikey_usage_flush

    flushed = 0
    while batch := apikey_usage_flush():
        flushed += batch

    print(
        f"\ngunicorn 2 sync workers, PostgreSQL + Redis, wrk {args.connections} connections, "
        f"{args.duration} s each"
    )
    print(f"{'variant':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, figures in results.items():
        print(f"{name:34} {figures['rps']:9.0f} {figures['p50']:8.2f} {figures['p99']:8.2f}")
    bare, ours, slow = (results[name]["rps"] for name in results)
    ours_p99 = results["partner (key+scope+limit+usage)"]["p99"]
    print(f"\nours / bare   = {ours / bare:.2f}   (target >= 0.70)")
    print(f"ours / bcrypt = {ours / slow:.1f}   (target >= 40)")
    print(f"ours p99      = {ours_p99:.2f} ms (target < 25 ms)")
    print(f"usage records recorded and flushed to PostgreSQL: {flushed}")


if __name__ == "__main__":
    main()
