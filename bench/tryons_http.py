"""Set-up shared by the cart try-on HTTP benchmarks (tryons_status_poll.py, tryons_cart_create.py).

Builds on bench/apikeys_auth.py's conventions (the same settings module, gunicorn and wrk helpers): an
organization with enough credits for every cart the run can create, a key with the try-on scopes and a rate
limit that never triggers (the limiter still runs on every request), and a customer with a photo row, all
through the real services. No `__main__` block: `python -m bench` runs the scripts, not this module.
"""

import os
import sys
import time
from dataclasses import dataclass

from bench.apikeys_auth import ROOT, _create_database, environment

CART_ITEMS = 20
CREDITS = 1_000_000  # 12 credits per 20-item sd cart: room for ~80,000 creates


@dataclass(frozen=True)
class CartSetup:
    organization_id: str
    raw_key: str
    photo_key: str


def garments(count: int = CART_ITEMS) -> list[dict]:
    """A cart's items as a partner sends them (seed 001's fields), on a public https host never fetched."""
    return [
        {
            "productId": f"prod_{n}",
            "variantId": f"var_{n}",
            "name": f"Linen shirt {n}",
            "imageUrl": f"https://cdn.example.com/garments/{n}.jpg",
            "category": "tops",
            "quantity": 1,
            "price": "29.99",
            "currency": "EUR",
        }
        for n in range(1, count + 1)
    ]


def prepare_cart() -> CartSetup:
    """Create the database if needed, migrate, flush the cache, and create an organization (its signup
    grant set to CREDITS), a try-on key and a customer with a photo row (no stored object: nothing here
    reads the image)."""
    _create_database()
    os.environ["SIGNUP_CREDIT_GRANT"] = str(CREDITS)  # granted through the ledger like any signup grant
    os.environ.update(environment())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command

    from apikeys.services import apikey_create
    from customers.models import Photo
    from customers.services import customer_upsert
    from organizations.services import organization_create

    call_command("migrate", interactive=False, verbosity=0)
    cache.clear()
    owner = get_user_model().objects.create_user(username=f"bench-{time.time_ns()}")
    organization = organization_create(owner=owner, name="Bench Carts")
    _, raw_key = apikey_create(
        organization=organization,
        name="bench",
        scopes=["tryon:create", "tryon:read"],
        rate_limit=50_000_000,
    )
    customer, _ = customer_upsert(organization_id=organization.id, external_id="shopper-42")
    photo = Photo.objects.create(
        organization=organization,
        customer=customer,
        storage_key=f"enterprise/org-{organization.id}/photos/photo_bench.jpg",
        content_type="image/jpeg",
        width=600,
        height=900,
        size_bytes=120_000,
    )
    return CartSetup(organization.id, raw_key, photo.storage_key)
