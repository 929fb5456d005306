"""Every list at the size of a large shop: p50/p95 of first, cursor and deep pages, and of the usage series.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_scale_bench REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/scale_lists.py [--scale 1.0] [--rounds 15]

Fills one organization in SQL (tests/scale_data.py: INSERT … SELECT generate_series) with, at --scale 1,
1,000,000 customers (every 10th with two photos), 1,000,000 try-ons (500,000 single, 250,000 carts of 2),
100,000 webhook deliveries, 250,000 ledger entries and 10,000,000 request log records over 30 days, plus a
rival organization of a tenth of that size. Then requests each list through the real API in-process (auth,
scopes, rate limit and usage recording included) `--rounds` times after a warm-up and prints p50/p95.

The baseline in the same run is `GET /api/v1/customers/{externalId}` (one indexed row): each list's p50 is
also printed as a ratio to it. Targets (issue 22 and 14): first and cursor pages <= 20 ms p50 and <= 50 ms
p95; the 30-day daily usage series < 200 ms p95.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("Set DATABASE_URL to a PostgreSQL database.")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from api.ids import new_id  # noqa: E402
from apikeys.services import apikey_create  # noqa: E402
from organizations.models import Organization  # noqa: E402
from organizations.services import organization_create  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.scale_data import fill_organization  # noqa: E402


def sizes_for(scale: float) -> dict:
    return {
        "customers": int(1_000_000 * scale),
        "single_tryons": int(500_000 * scale),
        "sessions": int(250_000 * scale),
        "deliveries": int(100_000 * scale),
        "ledger_entries": int(250_000 * scale),
        "request_records": int(10_000_000 * scale),
    }


def fill(scale: float):
    owner = UserFactory(username=new_id("bench"))
    organization = organization_create(owner=owner, name="bench-scale")
    rival = organization_create(owner=UserFactory(username=new_id("bench")), name="bench-rival")
    keys = []
    for n in range(3):
        key, raw = apikey_create(
            organization=organization, name=f"key {n}", scopes=["all"], rate_limit=10_000
        )
        keys.append((key.id, raw))
    rival_key, _ = apikey_create(organization=rival, name="rival", scopes=["all"])
    sizes = sizes_for(scale)
    for org, tag, key_ids, factor in (
        (rival, "r", [rival_key.id], 0.1),
        (organization, "s", [k for k, _ in keys], 1),
    ):
        started = time.perf_counter()
        last = [started]

        def step(name, tag=tag, last=last):
            now = time.perf_counter()
            print(f"  fill {tag}: {name} (previous step {now - last[0]:.1f} s)", flush=True)
            last[0] = now

        fill_organization(
            organization_id=org.id,
            tag=tag,
            key_ids=key_ids,
            photo_every=10,
            webhooks=5,
            days=30,
            on_step=step,
            **{name: int(size * factor) for name, size in sizes.items()},
        )
        print(f"filled {org.name} in {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have long done on a database of this age
    return owner, organization, keys, sizes


def reuse(scale: float):
    organization = Organization.objects.filter(name="bench-scale").latest("created_at")
    owner = organization.memberships.get(role="owner").user
    key_ids = list(organization.api_keys.order_by("created_at").values_list("id", flat=True)[:3])
    # Only hashes are stored: a fresh key to call with, the filled ones for the keyId filters.
    _, raw = apikey_create(organization=organization, name="reuse", scopes=["all"], rate_limit=10_000)
    keys = [(key_id, raw) for key_id in key_ids]
    sizes = sizes_for(scale)
    return owner, organization, keys, sizes


def measure(client, url, params, rounds: int) -> tuple[float, float]:
    for _ in range(3):
        response = client.get(url, params)
        assert response.status_code == 200, (url, params, response.status_code, response.content[:300])
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.get(url, params)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full sizes (1 = 1M customers)"
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure an organization an earlier run of --scale filled (same DB)",
    )
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if args.reuse:
        owner, organization, keys, sizes = reuse(args.scale)
    else:
        owner, organization, keys, sizes = fill(args.scale)
    print("sizes: " + ", ".join(f"{name}={size:,}" for name, size in sizes.items()))

    partner = APIClient()
    partner.credentials(HTTP_X_API_KEY=keys[0][1])
    member = APIClient()
    member.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")
    org_api = f"/api/organizations/{organization.id}"
    last_customer = sizes["customers"] - 100  # g grows with age: a cursor near the oldest end of the list
    deep = {
        "customers": f"cust_s{last_customer}",
        "tryons": f"tryon_s{sizes['single_tryons'] - 100}",
        "sessions": f"cts_s{sizes['sessions'] - 100}",
        "deliveries": f"whd_s{sizes['deliveries'] - 100}",
        "requests": f"req_s{sizes['request_records'] - 100}",
    }
    ledger_ids = list(
        organization.ledger_entries.order_by("created_at", "id").values_list("id", flat=True)[100:101]
    )
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()
    cases = [
        ("customer by id (baseline)", partner, "/api/v1/customers/shopper-s-10", {}, None),
        ("customers first", partner, "/api/v1/customers", {}, 20),
        ("customers cursor deep", partner, "/api/v1/customers", {"startingAfter": deep["customers"]}, 20),
        ("customers offset 10000", partner, "/api/v1/customers", {"offset": 10_000}, None),
        ("customers limit 100", partner, "/api/v1/customers", {"limit": 100}, None),
        ("photos first", partner, "/api/v1/customers/shopper-s-10/photos", {}, 20),
        ("carts first", partner, "/api/v1/cart-tryons", {}, 20),
        ("carts cursor deep", partner, "/api/v1/cart-tryons", {"startingAfter": deep["sessions"]}, 20),
        ("carts by status", partner, "/api/v1/cart-tryons", {"status": "failed"}, 20),
        ("carts by cartId", partner, "/api/v1/cart-tryons", {"cartId": "cart_7"}, 20),
        ("tryons first", partner, "/api/v1/tryons", {}, 20),
        ("tryons cursor deep", partner, "/api/v1/tryons", {"startingAfter": deep["tryons"]}, 20),
        ("tryons by status", partner, "/api/v1/tryons", {"status": "failed"}, 20),
        ("deliveries first", partner, "/api/v1/webhooks/webhook_s1/deliveries", {}, 20),
        (
            "deliveries cursor deep",
            partner,
            "/api/v1/webhooks/webhook_s1/deliveries",
            {"startingAfter": deep["deliveries"]},
            20,
        ),
        ("ledger first", member, f"{org_api}/credits", {}, 20),
        ("ledger cursor deep", member, f"{org_api}/credits", {"startingAfter": ledger_ids[0]}, 20),
        ("api keys first", member, f"{org_api}/api-keys", {}, 20),
        ("request log first", member, f"{org_api}/logs/requests", {}, 20),
        ("request log cursor deep", member, f"{org_api}/logs/requests", {"cursor": deep["requests"]}, 20),
        ("request log 5xx", member, f"{org_api}/logs/requests", {"status": "5xx"}, 20),
        ("request log by key", member, f"{org_api}/logs/requests", {"keyId": keys[1][0]}, 20),
        ("request log entry", member, f"{org_api}/logs/requests/req_s12345", {}, 20),
        ("usage 30 days daily", member, f"{org_api}/usage", {}, 200),
        # No target in the issues; printed to show what an hourly week costs (it reads 168 hours of rollups).
        ("usage 7 days hourly", member, f"{org_api}/usage", {"granularity": "hour", "from": week_ago}, None),
    ]
    results = {}
    baseline = None
    for name, client, url, params, _ in cases:
        p50, p95 = measure(client, url, params, args.rounds)
        results[name] = (p50, p95)
        baseline = baseline or p50
        print(f"{name:28} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({p50 / baseline:.1f}x the one-row read)")
    print()
    for name, _, _, _, target in cases:
        p50, p95 = results[name]
        if target == 20:
            print(f"{name} p50 = {p50:.1f} ms (target <= 20 ms)")
            print(f"{name} p95 = {p95:.1f} ms (target <= 50 ms)")
        elif target == 200:
            print(f"{name} p95 = {p95:.1f} ms (target < 200 ms)")
        else:
            print(f"{name} p50 = {p50:.1f} ms")


if __name__ == "__main__":
    main()
