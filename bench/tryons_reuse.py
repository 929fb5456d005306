"""Render reuse: the same 20-item cart twice on a hosted engine's fake (2 s per render, cap 50), through one
worker of concurrency 2.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_reuse_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        DJANGO_SECRET_KEY=... .venv/bin/python bench/tryons_reuse.py

The first cart renders its 20 items (one 2 s render each, side by side under the cap); the second, identical
but for its cartId, is handed the first one's renders (README, "Render reuse"): no engine call, refunded
whole at the default reusedRenderPrice. Prints both carts' wall times from creation to settlement, the
engine calls each made, and their ratio (target: the second <= 1 s, with zero engine calls). Then the same
garments are registered in the catalogue and a third cart names them by garmentId, rendered anew: it
downloads no garment (target 0, against the first cart's 20).
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
from tryons.catalogue.services import garment_fetch, garment_upsert  # noqa: E402
from tryons.controls import CartControls  # noqa: E402
from tryons.models import CartTryOnSession  # noqa: E402

ITEMS = 20
CATEGORIES = ("tops", "bottoms", "outerwear", "dresses", "one-pieces")


def cart_items(garments, *, catalogue: dict | None = None) -> list:
    """Each item its own garment image (a colour per name), so no item of a cart is another's twin; with
    `catalogue` (product id → garment id), named by garmentId instead."""
    return [
        services.GarmentInput(
            product_id=f"p{i}",
            image_url="" if catalogue else garments.url(f"/garments/{name}-{i}.png"),
            category="" if catalogue else CATEGORIES[i % len(CATEGORIES)],
            garment_id=catalogue[f"p{i}"] if catalogue else "",
        )
        for i, name in enumerate(["tshirt", "jeans", "jacket", "dress"] * 5)
    ]


def register_catalogue(organization, garments) -> dict:
    """The cart's 20 garments in the catalogue, fetched (as the worker would) before the carts come."""
    registered = {}
    for item in cart_items(garments):
        garment, _ = garment_upsert(
            organization_id=organization.id,
            product_id=item.product_id,
            image_url=item.image_url,
            category=item.category,
        )
        garment_fetch(job=f"{garment.pk}:{garment.fetch_generation}")
        registered[item.product_id] = garment.pk
    return registered


def run_cart(organization, photo, items, cart_id: str, **options) -> tuple[float, CartTryOnSession]:
    started = time.perf_counter()
    session, _ = services.cart_session_create(
        organization_id=organization.id,
        cart_id=cart_id,
        photo_key=photo.storage_key,
        items=items,
        render_quality="sd",
        **options,
    )
    unfinished = CartTryOnSession.objects.filter(pk=session.id, status__in=["queued", "processing"])
    wait_until(lambda: not unfinished.exists(), timeout=300, interval=0.02)
    wall = time.perf_counter() - started
    session.refresh_from_db()
    return wall, session


def main():
    with fashn_stack(name="bench-reuse", render_seconds=2.0, cap=50, concurrency=2) as stack:
        organization, photo, garments, fake = stack
        first_wall, first = run_cart(organization, photo, cart_items(garments), "bench-reuse-1")
        first_calls = len(fake.requests_to("POST", "/v1/run"))
        first_downloads = len(garments.hits)
        second_wall, second = run_cart(organization, photo, cart_items(garments), "bench-reuse-2")
        second_calls = len(fake.requests_to("POST", "/v1/run")) - first_calls
        # The same garments from the catalogue, rendered anew (reuse off): no download at all.
        catalogue = register_catalogue(organization, garments)
        before = len(garments.hits)
        _, third = run_cart(
            organization, photo, cart_items(garments, catalogue=catalogue), "bench-catalogue",
            controls=CartControls(reuse=False),
        )  # fmt: skip
        catalogue_downloads = len(garments.hits) - before
    print(f"items={ITEMS} first={first.status} second={second.status} first_engine_calls={first_calls}")
    print(f"second_refunded_credits={second.credits_refunded} of {second.credits_charged}")
    print(f"first_cart_s = {first_wall:.2f} s")
    print(f"second_cart_s = {second_wall:.2f} s (target <= 1 s)")
    print(f"second/first = {second_wall / first_wall:.2f} (target <= 0.5)")
    print(f"second_cart_engine_calls = {second_calls} (target <= 0)")
    print(f"first_cart_garment_downloads={first_downloads} catalogue_cart_status={third.status}")
    print(f"catalogue_cart_garment_downloads = {catalogue_downloads} (target <= 0)")
    if first.status != "completed" or second.status != "completed" or third.status != "completed":
        sys.exit("a cart did not complete")


if __name__ == "__main__":
    main()
