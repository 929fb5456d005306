"""Webhook delivery throughput through the real worker, against a plain requests.post loop.

1,000 events are recorded for one endpoint (a loopback receiver); a `celery -A config worker` process
delivers them. The baseline posts the same number of bodies with `requests.post` in a loop from this
process. Prints both rates and their ratio (target >= 0.5).

Needs PostgreSQL and Redis:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_webhooks_bench \
    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/webhooks_throughput.py
"""

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garmax_webhooks_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 50)
os.environ["OUTBOUND_ALLOW_PRIVATE_NETWORKS"] = "true"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
EVENTS = int(os.environ.get("BENCH_EVENTS", "1000"))
WORKER_CONCURRENCY = os.environ.get("BENCH_WORKER_CONCURRENCY", "8")
# One endpoint receives everything here, so let it use every worker thread.
os.environ.setdefault("WEBHOOK_ENDPOINT_CONCURRENCY", WORKER_CONCURRENCY)


class Counter:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()


def start_receiver(counter: Counter) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with counter.lock:
                counter.count += 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def ensure_database() -> None:
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True)


def main() -> None:
    ensure_database()
    import django

    django.setup()
    import requests
    from django.core.management import call_command
    from django.db import transaction

    from organizations.services import organization_create
    from tests.factories import UserFactory
    from webhooks import services
    from webhooks.models import WebhookDelivery

    call_command("migrate", verbosity=0)
    counter = Counter()
    server = start_receiver(counter)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    body = b'{"id":"evt_x","event":"cart_tryon.completed","data":{"n":1}}'
    started = time.perf_counter()
    for _ in range(EVENTS):
        requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    baseline = EVENTS / (time.perf_counter() - started)

    owner = UserFactory(username=f"bench{time.time_ns()}")
    organization = organization_create(owner=owner, name="Bench")
    services.webhook_create(organization_id=organization.id, url=url, events=["cart_tryon.completed"])
    counter.count = 0

    log = open(ROOT / "var" / "bench-webhooks-worker.log", "wb")  # noqa: SIM115 - lives as long as the worker
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker", "-Q", "webhooks"]
        + ["-P", os.environ.get("BENCH_WORKER_POOL", "threads"), "-c", WORKER_CONCURRENCY]
        + ["--loglevel", "WARNING"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(3)  # let the worker connect before the clock starts
        recording = time.perf_counter()
        with transaction.atomic():
            for n in range(EVENTS):
                services.webhook_event_record(
                    organization_id=organization.id, event="cart_tryon.completed", data={"n": n}
                )
        # The clock for the worker starts at commit: that is when deliveries are queued.
        started = time.perf_counter()
        recorded = started - recording
        deadline = time.monotonic() + 300
        while counter.count < EVENTS and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    delivered = WebhookDelivery.objects.filter(
        organization=organization, status=WebhookDelivery.Status.SUCCEEDED
    ).count()
    rate = counter.count / elapsed
    print(f"recording {EVENTS} events  : {recorded:8.2f} s (in the caller's transaction, not timed below)")
    print(f"plain requests.post loop : {baseline:8.1f} requests/s")
    print(
        f"worker deliveries        : {rate:8.1f} deliveries/s ({counter.count} received, {delivered} logged)"
    )
    print(f"ratio                    : {rate / baseline:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
