"""Render reuse: the same 20-item cart twice on a hosted engine's fake (2 s per render, cap 50), through one
worker of concurrency 2.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_reuse_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        DJANGO_SECRET_KEY=... .venv/bin/python bench/tryons_reuse.py

The first cart renders its 20 items (one 2 s render each, side by side under the cap); the second, identical
but for its cartId, is handed the first one's renders (README, "Render reuse"): no engine call, refunded
whole at the default reusedRenderPrice. Prints both carts' wall times from creation to settlement, the
engine calls each made, and their ratio (target: the second <= 1 s, with zero engine calls).
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
from tryons.models import CartTryOnSession  # noqa: E402

ITEMS = 20
CATEGORIES = ("tops", "bottoms", "outerwear", "dresses", "one-pieces")


def run_cart(organization, photo, garments, cart_id: str) -> tuple[float, CartTryOnSession]:
    started = time.perf_counter()
    session, _ = services.cart_session_create(
        organization_id=organization.id,
        cart_id=cart_id,
        photo_key=photo.storage_key,
        # Each item its own garment image (a colour per name), so no item of a cart is another's twin.
        items=[
            services.GarmentInput(
                product_id=f"p{i}",
                image_url=garments.url(f"/garments/{name}-{i}.png"),
                category=CATEGORIES[i % len(CATEGORIES)],
            )
            for i, name in enumerate(["tshirt", "jeans", "jacket", "dress"] * 5)
        ],
        render_quality="sd",
    )
    unfinished = CartTryOnSession.objects.filter(pk=session.id, status__in=["queued", "processing"])
    wait_until(lambda: not unfinished.exists(), timeout=300, interval=0.02)
    wall = time.perf_counter() - started
    session.refresh_from_db()
    return wall, session


def main():
    with fashn_stack(name="bench-reuse", render_seconds=2.0, cap=50, concurrency=2) as stack:
        organization, photo, garments, fake = stack
        first_wall, first = run_cart(organization, photo, garments, "bench-reuse-1")
        first_calls = len(fake.requests_to("POST", "/v1/run"))
        second_wall, second = run_cart(organization, photo, garments, "bench-reuse-2")
        second_calls = len(fake.requests_to("POST", "/v1/run")) - first_calls
    print(f"items={ITEMS} first={first.status} second={second.status} first_engine_calls={first_calls}")
    print(f"second_refunded_credits={second.credits_refunded} of {second.credits_charged}")
    print(f"first_cart_s = {first_wall:.2f} s")
    print(f"second_cart_s = {second_wall:.2f} s (target <= 1 s)")
    print(f"second/first = {second_wall / first_wall:.2f} (target <= 0.5)")
    print(f"second_cart_engine_calls = {second_calls} (target <= 0)")
    if first.status != "completed" or second.status != "completed":
        sys.exit("a cart did not complete")


if __name__ == "__main__":
    main()
