"""Benchmark: time to result (issue 36) — a cart created to its `cart_tryon.completed` webhook received.

What a shopper waits for beyond the engine itself. For each broker (the private Redis; RabbitMQ in a private
vhost when RABBITMQ_URL's server is there) a child process starts the worker as README says
(`celery -A config worker`, every queue, concurrency 2) and, for each engine — FASHN's fake at
RENDER_SECONDS per render with a cap of 50, and the `local` renderer — creates carts one after another
through the real service, each with a webhook endpoint on loopback subscribed to `cart_tryon.completed`, and
times create → that webhook's arrival. The overhead of a run is that total less the engine's own time: the
fake's RENDER_SECONDS (every item of a cart renders at once under the cap), or the local renderer's recorded
render times (its items render one after another). Prints p50/p95 overhead of the 1-item carts and the worst
20-item cart's overhead, with the targets: 1-item p50 <= 300 ms, p95 <= 600 ms; 20 items within the engine's
time + 1 s.

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python bench/tryons_time_to_result.py [--runs 8]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["RENDER_REUSE_DAYS"] = "0"  # every cart renders: identical carts are what this repeats
os.environ["OUTBOUND_ALLOW_PRIVATE_NETWORKS"] = "true"  # the loopback CDN, fake engine and receiver
os.environ["SIGNUP_CREDIT_GRANT"] = "100000"
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="garmax-bench-"))

RENDER_SECONDS = 3.0
CAP = 50
CONCURRENCY = 2
BIG_CART = 20


def measure(runs: int, big_runs: int) -> dict:
    """In a child whose CELERY_BROKER_URL names the broker: both engines, their 1- and 20-item carts."""
    import django

    django.setup()
    from django.core.management import call_command

    from api.ids import new_id
    from config.celery import app as celery_app
    from organizations.services import organization_create
    from tests.engine_servers import FakeFashn, engine_environment
    from tests.factories import UserFactory
    from tests.http_servers import GarmentServer, WebhookReceiver
    from tests.tryons.conftest import make_photo
    from tests.workers import start_worker, stop_worker
    from tryons import services
    from tryons.events import CART_TRYON_COMPLETED
    from tryons.models import TryOn
    from webhooks import services as webhook_services

    call_command("migrate", verbosity=0)
    garments, receiver, fake = GarmentServer(), WebhookReceiver(), FakeFashn(render_seconds=RENDER_SECONDS)
    organization = organization_create(owner=UserFactory(username=new_id("bench")), name="bench-ttr")
    photo = make_photo(organization)
    webhook_services.webhook_create(
        organization_id=organization.id, url=receiver.url, events=[CART_TRYON_COMPLETED.name], description=""
    )
    figures = {}
    try:
        for engine, env in (
            ("fake", {"TRYON_RENDERER": "fashn", "TRYON_ENGINE_MAX_IN_FLIGHT": str(CAP)}),
            ("local", {"TRYON_RENDERER": "local"}),
        ):
            env = {**os.environ, **env, **(engine_environment("fashn", fake) if engine == "fake" else {})}
            log = Path(tempfile.mkdtemp(prefix="garmax-bench-")) / "worker.log"
            celery_app.control.purge()
            worker = start_worker(
                "-c", str(CONCURRENCY), "--without-mingle", "--without-gossip", "-l", "info", env=env, log=log
            )  # fmt: skip
            try:
                figures[engine] = {}
                for size, count in ((1, runs + 1), (BIG_CART, big_runs)):
                    overheads = []
                    for run in range(count):
                        seen = len(receiver.requests)
                        started = time.monotonic()
                        session, _ = services.cart_session_create(
                            organization_id=organization.id,
                            cart_id=new_id("cart"),
                            photo_key=photo.storage_key,
                            items=[
                                services.GarmentInput(
                                    product_id=f"p{i}",
                                    image_url=garments.url(f"/garment-{i}.png"),
                                    category="tops",
                                )
                                for i in range(size)
                            ],
                            render_quality="sd",
                        )
                        arrived = receiver.wait_for(seen + 1, timeout=120)[seen:]
                        if not arrived or session.id.encode() not in arrived[0].body:
                            session.refresh_from_db()
                            items = list(TryOn.objects.filter(session=session).values_list("status", "error"))
                            raise SystemExit(
                                f"{engine}: no completed webhook for {session.id} ({session.status}, items "
                                f"{items}, {len(receiver.requests)} deliveries); worker log {log}"
                            )
                        total = arrived[0].at - started
                        rendered = TryOn.objects.filter(session=session).values_list("render_ms", flat=True)
                        own = RENDER_SECONDS if engine == "fake" else sum(ms or 0 for ms in rendered) / 1000
                        if size == 1 and run == 0:
                            continue  # the worker's first task warms its connections: not a shopper's wait
                        overheads.append((total - own) * 1000)
                    figures[engine][size] = overheads
            finally:
                stop_worker(worker, timeout=60)
    finally:
        garments.close()
        receiver.stop()
        fake.close()
    return figures


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run_child(broker_url: str, runs: int, big_runs: int) -> dict:
    env = {**os.environ, "CELERY_BROKER_URL": broker_url}
    command = [sys.executable, __file__, "--measure", str(runs), str(big_runs)]
    child = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if child.returncode:
        raise SystemExit(f"run on {broker_url.split(':')[0]} failed:\n{child.stdout}\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8, help="1-item carts per engine and broker")
    parser.add_argument("--big-runs", type=int, default=2, help="20-item carts per engine and broker")
    parser.add_argument("--brokers", default="redis,rabbitmq")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")):
        raise SystemExit("Set DATABASE_URL (PostgreSQL) and REDIS_URL.")
    results = {}
    for broker in args.brokers.split(","):
        if broker == "redis":
            results[broker] = run_child(os.environ["REDIS_URL"], args.runs, args.big_runs)
        else:
            from tests import rabbitmq

            try:
                with rabbitmq.private_vhost("garmax_bench_ttr") as url:
                    results[broker] = run_child(url, args.runs, args.big_runs)
            except Exception as exc:  # no RabbitMQ here: said, not hidden
                print(f"{broker}: not measured ({exc})")
    print(f"fake engine {RENDER_SECONDS:g} s per render (cap {CAP}); worker concurrency {CONCURRENCY}")
    for broker, engines in results.items():
        for engine, sizes in engines.items():
            small, big = sizes["1"], sizes[str(BIG_CART)]
            name = f"{broker} {engine}"
            print(f"{name}: 1-item overhead ms " + " ".join(f"{v:.0f}" for v in small))
            print(f"{name}: {BIG_CART}-item overhead ms " + " ".join(f"{v:.0f}" for v in big))
            print(f"{name} 1-item p50 overhead = {statistics.median(small):.0f} ms (target <= 300 ms)")
            print(f"{name} 1-item p95 overhead = {_percentile(small, 0.95):.0f} ms (target <= 600 ms)")
            print(f"{name} {BIG_CART}-item worst overhead = {max(big):.0f} ms (target <= 1000 ms)")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        main()
