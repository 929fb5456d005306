"""Items/s through a real Celery worker (local renderer) against the same pipeline called in a plain loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_tryons_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        DJANGO_SECRET_KEY=... .venv/bin/python bench/tryons_throughput.py

Both sides run the full per-item path (garment download from a local HTTP server, decode, render, store,
state updates). Prints both rates and worker/loop; the target is >= 0.8, i.e. queueing, Redis and the
worker cost at most a fifth of the time.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Every render is rendered: identical carts are what these measure, not handed one another's images.
os.environ["RENDER_REUSE_DAYS"] = "0"
os.environ["OUTBOUND_ALLOW_PRIVATE_NETWORKS"] = "true"
os.environ["SIGNUP_CREDIT_GRANT"] = "100000"
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="garmax-bench-"))
if not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")):
    sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL.")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from api.ids import new_id  # noqa: E402
from organizations.services import organization_create  # noqa: E402
from tests.concurrency import wait_until  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.http_servers import GarmentServer  # noqa: E402
from tests.tryons.conftest import make_photo  # noqa: E402
from tests.workers import start_worker, stop_worker  # noqa: E402
from tryons import services  # noqa: E402
from tryons.models import CartTryOnSession  # noqa: E402
from tryons.services import queue  # noqa: E402

CARTS = 3
ITEMS = 20


def create_carts(organization, photo, server, tag):
    return [
        services.cart_session_create(
            organization_id=organization.id,
            cart_id=f"{tag}-{n}",
            photo_key=photo.storage_key,
            items=[
                services.GarmentInput(
                    product_id=f"p{i}", image_url=server.url(f"/garment-{i}.png"), category="tops"
                )
                for i in range(ITEMS)
            ],
            render_quality="hd",
        )[0]
        for n in range(CARTS)
    ]


def main():
    call_command("migrate", verbosity=0)
    server = GarmentServer()
    organization = organization_create(owner=UserFactory(username=new_id("bench")), name="bench-throughput")
    photo = make_photo(organization)

    # Plain loop: the same service the task calls, in this process, no broker.
    enqueue, queue.enqueue = queue.enqueue, lambda *args: None  # nothing reaches the worker queue
    sessions = create_carts(organization, photo, server, "loop")
    queue.enqueue = enqueue
    started = time.perf_counter()
    for session in sessions:
        services.cart_session_process(session_id=session.id)
    loop_rate = CARTS * ITEMS / (time.perf_counter() - started)

    # Started and ready before the clock starts: worker start-up is not part of the measurement.
    log = Path(tempfile.mkdtemp(prefix="garmax-bench-")) / "worker.log"
    worker = start_worker(
        "-Q", "tryons", "-P", "solo", "--without-mingle", "--without-gossip", "-l", "info", log=log
    )
    try:
        started = time.perf_counter()
        sessions = create_carts(organization, photo, server, "worker")
        ids = [s.id for s in sessions]
        unfinished = CartTryOnSession.objects.filter(pk__in=ids, status__in=["queued", "processing"])
        wait_until(lambda: not unfinished.exists(), timeout=3600, interval=0.05)
        worker_rate = CARTS * ITEMS / (time.perf_counter() - started)
    finally:
        stop_worker(worker, timeout=60)
        server.close()
    print(f"items={CARTS * ITEMS} loop_items_per_s={loop_rate:.2f} worker_items_per_s={worker_rate:.2f}")
    print(f"worker/loop={worker_rate / loop_rate:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
