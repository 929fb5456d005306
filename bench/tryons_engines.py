"""100 cart items through a hosted engine's fake (2 s per render) with one worker of concurrency 2, cap 50.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_engines_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        DJANGO_SECRET_KEY=... .venv/bin/python bench/tryons_engines.py

The ideal is the provider's time alone: 2 s × ceil(100 / 50) = 4 s, as if submitting, polling, downloading and
settling cost nothing and the cap were the only limit. Prints the wall time from the first cart's creation to
the last item's settlement, ideal/wall (target >= 0.8: the worker's own work costs at most a fifth), and the
peak of renders in flight at the provider per worker slot (a worker that held its slot while the provider
worked could never exceed 1). Default engine settings otherwise (poll interval 2 s, timeouts).
"""

import math
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
from config.celery import app as celery_app  # noqa: E402
from organizations.services import organization_create  # noqa: E402
from tests.concurrency import wait_until  # noqa: E402
from tests.engine_servers import FakeFashn, engine_environment  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.http_servers import GarmentServer  # noqa: E402
from tests.tryons.conftest import make_photo  # noqa: E402
from tests.workers import start_worker, stop_worker  # noqa: E402
from tryons import services  # noqa: E402
from tryons.models import CartTryOnSession, TryOn  # noqa: E402

ITEMS = 100
PER_CART = 20  # the API's limit per cart
RENDER_SECONDS = 2.0
CAP = 50
CONCURRENCY = 2


def main():
    call_command("migrate", verbosity=0)
    garments = GarmentServer()
    fake = FakeFashn(render_seconds=RENDER_SECONDS)
    organization = organization_create(owner=UserFactory(username=new_id("bench")), name="bench-engines")
    photo = make_photo(organization)
    env = {
        **os.environ,
        "TRYON_RENDERER": "fashn",
        "TRYON_ENGINE_MAX_IN_FLIGHT": str(CAP),
        **engine_environment("fashn", fake),
    }
    log = Path(tempfile.mkdtemp(prefix="garmax-bench-")) / "worker.log"
    # Countdown tasks a previous run's worker held when it stopped went back to the queue: without this the
    # new worker spends its first second draining them.
    celery_app.control.purge()
    # Started and ready before the clock starts: worker start-up is not part of the measurement.
    worker = start_worker(
        "-Q", "tryons", "-c", str(CONCURRENCY), "--without-mingle", "--without-gossip", "-l", "info",
        env=env, log=log,
    )  # fmt: skip
    try:
        started = time.perf_counter()
        ids = [
            services.cart_session_create(
                organization_id=organization.id,
                cart_id=f"bench-{n}",
                photo_key=photo.storage_key,
                items=[
                    services.GarmentInput(
                        product_id=f"p{i}", image_url=garments.url(f"/garment-{i}.png"), category="tops"
                    )
                    for i in range(PER_CART)
                ],
                render_quality="sd",
            )[0].id
            for n in range(ITEMS // PER_CART)
        ]
        unfinished = CartTryOnSession.objects.filter(pk__in=ids, status__in=["queued", "processing"])
        wait_until(lambda: not unfinished.exists(), timeout=600, interval=0.05)
        wall = time.perf_counter() - started
    finally:
        stop_worker(worker, timeout=60)
        garments.close()
        fake.close()
    completed = TryOn.objects.filter(session_id__in=ids, status="completed").count()
    ideal = RENDER_SECONDS * math.ceil(ITEMS / CAP)
    print(
        f"items={ITEMS} completed={completed} render_s={RENDER_SECONDS} cap={CAP} concurrency={CONCURRENCY}"
    )
    print(f"wall_s={wall:.2f} ideal_s={ideal:.2f} provider_peak_in_flight={fake.in_flight_peak}")
    print(f"in_flight_per_worker_slot={fake.in_flight_peak / CONCURRENCY:.1f} (target >= 10)")
    print(f"ideal/wall={ideal / wall:.2f} (target >= 0.8)")
    if completed != ITEMS:
        sys.exit(f"only {completed} of {ITEMS} items completed")


if __name__ == "__main__":
    main()
