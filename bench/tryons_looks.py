"""A cart of 20 items plus 3 looks of 3 garments on a hosted engine's fake (2 s per render, cap 50), through
one worker of concurrency 2.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_looks_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        DJANGO_SECRET_KEY=... .venv/bin/python bench/tryons_looks.py

The critical path is the longest chain of renders that must follow one another: a look's first garment is
its item's own render, then one render per further garment, so 3 renders × 2 s = 6 s; the 20 items and the
3 looks' steps all fit under the cap side by side. Prints the wall time from the cart's creation to its
settlement beside that path (target: wall <= 1.25 × critical path: steps of different looks run in
parallel, and no worker slot waits on the provider). Default engine settings otherwise (poll interval 2 s).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["OUTBOUND_ALLOW_PRIVATE_NETWORKS"] = "true"
os.environ["SIGNUP_CREDIT_GRANT"] = "100000"
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="garmax-bench-"))
if not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")):
    sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL.")

import django  # noqa: E402

django.setup()

from bench.engine_stack import fashn_stack  # noqa: E402
from tests.concurrency import wait_until  # noqa: E402
from tryons import services  # noqa: E402
from tryons.models import CartTryOnSession, Look  # noqa: E402

ITEMS = 20
LOOKS = 3
LOOK_GARMENTS = ("bottoms", "tops", "outerwear")  # put on in this order
RENDER_SECONDS = 2.0
CAP = 50
CONCURRENCY = 2


def cart_items(garments) -> list:
    """Items cycling bottoms, tops, outerwear: look n wears items 3n, 3n + 1 and 3n + 2."""
    return [
        services.GarmentInput(
            product_id=f"p{i}",
            image_url=garments.url(f"/garment-{i}.png"),
            category=LOOK_GARMENTS[i % len(LOOK_GARMENTS)],
        )
        for i in range(ITEMS)
    ]


def main():
    looks = [
        {"lookId": f"look-{n + 1}", "items": [f"p{3 * n + k}" for k in range(len(LOOK_GARMENTS))]}
        for n in range(LOOKS)
    ]
    # Every render happens: the looks' identical steps are not handed one another's images (render reuse).
    stack = fashn_stack(
        name="bench-looks", render_seconds=RENDER_SECONDS, cap=CAP, concurrency=CONCURRENCY,
        env={"RENDER_REUSE_DAYS": "0"},
    )  # fmt: skip
    with stack as (organization, photo, garments, fake):
        started = time.perf_counter()
        session, _ = services.cart_session_create(
            organization_id=organization.id,
            cart_id="bench-looks",
            photo_key=photo.storage_key,
            items=cart_items(garments),
            render_quality="sd",
            looks=looks,
        )
        unfinished = CartTryOnSession.objects.filter(pk=session.id, status__in=["queued", "processing"])
        wait_until(lambda: not unfinished.exists(), timeout=300, interval=0.05)
        wall = time.perf_counter() - started
    session.refresh_from_db()
    completed_looks = Look.objects.filter(session=session, status="completed").count()
    chain = len(LOOK_GARMENTS)  # the item's own render, then one render per further garment
    critical = chain * RENDER_SECONDS
    renders = len(fake.jobs)
    print(f"items={ITEMS} looks={LOOKS}x{len(LOOK_GARMENTS)} renders={renders} status={session.status}")
    print(f"wall_s={wall:.2f} critical_path_s={critical:.2f} provider_peak_in_flight={fake.in_flight_peak}")
    print(f"wall/critical_path={wall / critical:.2f} (target <= 1.25)")
    if session.status != "completed" or completed_looks != LOOKS:
        sys.exit(f"the cart ended {session.status} with {completed_looks} of {LOOKS} looks completed")
    if renders != ITEMS + LOOKS * (len(LOOK_GARMENTS) - 1):
        sys.exit(f"{renders} renders: a look's first garment was rendered again, or a step twice")


if __name__ == "__main__":
    main()
