"""Webhook delivery throughput through the real worker, against a plain requests.post loop.

Each round records BENCH_EVENTS events (default 1,000) for one endpoint, a loopback receiver, in one
transaction; a `celery -A config worker` process on the webhooks queue delivers them through the normal
path (on-commit dispatch, claim, signing, the SSRF-guarded POST, attempt log). The clock starts at commit
and stops when the receiver has every request and every delivery is logged as succeeded. The baseline posts
the same number of bodies with `requests.post` in a loop from this process, to the same receiver, in the
same round. A warm-up round (not counted) lets the worker import, connect and fill its pools first; the
report gives the median of BENCH_ROUNDS rounds (default 3), which keeps one noisy round on a shared machine
from deciding the figure.

Needs PostgreSQL and Redis:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_webhooks_bench \
    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/webhooks_throughput.py
"""

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garmax_webhooks_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 50)
os.environ["OUTBOUND_ALLOW_PRIVATE_NETWORKS"] = "true"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Every render is rendered: identical carts are what these measure, not handed one another's images.
os.environ["RENDER_REUSE_DAYS"] = "0"
EVENTS = int(os.environ.get("BENCH_EVENTS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARMUP_EVENTS = int(os.environ.get("BENCH_WARMUP_EVENTS", "200"))
LOG = ROOT / "var" / "bench-webhooks-worker.log"
WORKER_CONCURRENCY = os.environ.get("BENCH_WORKER_CONCURRENCY", "8")
# One endpoint receives everything here, so let it use every worker thread.
os.environ.setdefault("WEBHOOK_ENDPOINT_CONCURRENCY", WORKER_CONCURRENCY)


class Counter:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()


def start_receiver(counter: Counter):
    from tests.http_servers import LocalServer, QuietHandler

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as any production receiver offers
        # http.server writes the status line and headers, then the body, in two sends. On a reused
        # connection Nagle holds the second one until the client's delayed ACK (40 ms) comes back, a stall
        # production servers (nginx, Node, gunicorn) avoid by sending small responses with TCP_NODELAY.
        disable_nagle_algorithm = True

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with counter.lock:
                counter.count += 1
            self.reply(200, b"ok")

    return LocalServer(Handler)


def ensure_database() -> None:
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True)


def plain_loop(url: str, count: int) -> float:
    import requests

    body = b'{"id":"evt_x","event":"cart_tryon.completed","data":{"n":1}}'
    started = time.perf_counter()
    for _ in range(count):
        requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    return count / (time.perf_counter() - started)


def worker_round(organization_id: str, counter: Counter, count: int) -> tuple[float, float]:
    """Record `count` events in one transaction; return (deliveries/s from commit, recording seconds)."""
    from django.db import transaction

    from webhooks import services
    from webhooks.models import WebhookDelivery

    counter.count = 0
    committed = []
    recording = time.perf_counter()
    with transaction.atomic():
        # Registered first, so it runs at commit before any delivery is queued.
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        for n in range(count):
            services.webhook_event_record(
                organization_id=organization_id, event="cart_tryon.completed", data={"n": n}
            )
    started = committed[0]
    recorded = started - recording
    pending = WebhookDelivery.objects.filter(
        organization_id=organization_id, status=WebhookDelivery.Status.PENDING
    )
    deadline = time.monotonic() + 300
    while counter.count < count and time.monotonic() < deadline:
        time.sleep(0.005)
    while pending.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    if counter.count != count or pending.exists():
        raise SystemExit(f"round incomplete: {counter.count} of {count} received; see {LOG}")
    wait_for_idle_worker()
    return count / elapsed, recorded


def wait_for_idle_worker() -> None:
    """Let leftover tasks finish so they do not run during (and slow down) the next baseline loop."""
    import redis

    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    deadline = time.monotonic() + 60
    while (broker.llen("webhooks") or broker.hlen("unacked")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)


def main() -> None:
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    from organizations.services import organization_create
    from tests.factories import UserFactory
    from tests.workers import start_worker, stop_worker
    from webhooks import services
    from webhooks.models import WebhookDelivery

    call_command("migrate", verbosity=0)
    counter = Counter()
    server = start_receiver(counter)
    url = server.url("/hook")

    owner = UserFactory(username=f"bench{time.time_ns()}")
    organization = organization_create(owner=owner, name="Bench")
    services.webhook_create(organization_id=organization.id, url=url, events=["cart_tryon.completed"])

    LOG.parent.mkdir(exist_ok=True)
    LOG.write_bytes(b"")
    worker = start_worker(
        *["-Q", "webhooks", "-P", os.environ.get("BENCH_WORKER_POOL", "threads"), "-c", WORKER_CONCURRENCY],
        *["--loglevel", "WARNING"],
        log=LOG,
        wait_ready=False,  # the warm-up round waits for it
    )
    loops, workers, ratios = [], [], []
    try:
        plain_loop(url, WARMUP_EVENTS)
        worker_round(organization.id, counter, WARMUP_EVENTS)  # also waits until the worker is up
        for n in range(1, ROUNDS + 1):
            loop = plain_loop(url, EVENTS)
            rate, recorded = worker_round(organization.id, counter, EVENTS)
            loops.append(loop)
            workers.append(rate)
            ratios.append(rate / loop)
            print(
                f"round {n}: loop {loop:7.1f} req/s, worker {rate:7.1f} deliveries/s, "
                f"ratio {rate / loop:.2f} (recording took {recorded:.1f} s, not timed)",
                flush=True,
            )
    finally:
        stop_worker(worker, timeout=30)
    logged = WebhookDelivery.objects.filter(
        organization=organization, status=WebhookDelivery.Status.SUCCEEDED
    ).count()
    print(f"events per round         : {EVENTS} ({ROUNDS} rounds after a {WARMUP_EVENTS}-event warm-up)")
    print(f"plain requests.post loop : {statistics.median(loops):8.1f} requests/s (median)")
    print(f"worker deliveries        : {statistics.median(workers):8.1f} deliveries/s (median)")
    print(f"deliveries logged        : {logged} of {WARMUP_EVENTS + ROUNDS * EVENTS} as succeeded")
    print(f"ratio                    : {statistics.median(ratios):.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
