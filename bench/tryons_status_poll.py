"""Benchmark: the status poll, `GET /api/v1/cart-tryons/{id}` of a 20-item session, against a bare view.

Seed 001's clients poll a cart session every 2 s while it renders, so this is the partner call made most
often. Starts gunicorn (2 sync workers) on PostgreSQL + Redis with bench/apikeys_auth.py's settings and
drives, with wrk (1 thread, 16 connections, --latency), two variants that read the same session through the
same selector (`cart_session_get`: the session, its customer and its 20 items) and the same serializer:
- bare: a stock DRF view with no authentication, the organization in the query string
  (bench/apikeys_urls.py);
- partner: the real endpoint with the full key path (cached verification and revocation check, scope,
  rate limit high enough never to trigger, usage recording), as seed 001's clients poll: no If-None-Match;
- partner 304: the same poll with the current ETag in If-None-Match (issue 36): answered from the Redis
  stamp in admission's round trip, no query, no body;
- partner changed: the same poll with an ETag of an older state: served from the answer built once per
  change (no query, no serializer);
- bare customer read: bench/apikeys_auth.py's bare DRF view of one customer, the 304 path's yardstick.
Targets (issue 36): 304 >= 0.9 x the bare customer read, changed >= 1.5 x the bare cart view.

The session is mid-render, as a poll sees it: 12 items completed with a result (each a signed URL in the
answer), one processing, 7 queued. Variants are interleaved in short rounds, the order rotating, each after a
warm-up; the figure is the median over rounds of partner/bare within a round (the machine is shared).

    .venv/bin/python bench/tryons_status_poll.py [--rounds 5] [--duration 4] [--connections 16]

Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL as in bench/apikeys_auth.py.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.apikeys_auth import _free_port, _start_gunicorn, _wait_ready, _wrk  # noqa: E402
from bench.tryons_http import CART_ITEMS, garments, prepare_cart  # noqa: E402

COMPLETED, PROCESSING = 12, 1


def session_mid_render(setup) -> str:
    """A 20-item session created (priced, charged, queued) through the real service, then moved to where a
    poll finds it halfway: the first items rendered with results, one rendering, the rest queued."""
    from django.utils import timezone

    from tryons import services
    from tryons.models import CartTryOnSession, TryOn

    session, _ = services.cart_session_create(
        organization_id=setup.organization_id,
        cart_id="cart-poll",
        photo_key=setup.photo_key,
        items=[
            services.GarmentInput(
                product_id=g["productId"],
                variant_id=g["variantId"],
                name=g["name"],
                image_url=g["imageUrl"],
                category=g["category"],
            )
            for g in garments()
        ],
        render_quality="sd",
    )
    now = timezone.now()
    for item in TryOn.objects.filter(session=session).order_by("position")[:COMPLETED]:
        item.status = TryOn.Status.COMPLETED
        item.result_key = f"enterprise/org-{setup.organization_id}/results/{item.id}.jpg"
        item.started_at = item.completed_at = now
        item.render_ms = 1800
        item.save()
    TryOn.objects.filter(session=session, position=COMPLETED).update(
        status=TryOn.Status.PROCESSING, started_at=now
    )
    CartTryOnSession.objects.filter(pk=session.pk).update(
        status=CartTryOnSession.Status.PROCESSING, progress=COMPLETED, started_at=now
    )
    return session.id


def _check_answer(url: str, key: str | None) -> str | None:
    """Both variants must answer the same session in full, or the comparison means nothing; returns the
    answer's ETag."""
    # our own http://127.0.0.1:<port>, never caller input
    request = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        items = json.load(response)["cartItems"]
        etag = response.headers.get("ETag")
    rendered = sum(1 for item in items if item.get("resultUrl"))
    if len(items) != CART_ITEMS or rendered != COMPLETED:
        raise SystemExit(f"{url} answered {len(items)} items, {rendered} with a result")
    return etag


def _check_status(url: str, key: str, etag: str, expected: int) -> None:
    request = urllib.request.Request(url, headers={"X-API-Key": key, "If-None-Match": etag})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:  # urllib treats a 304 as an error
        status = exc.code
    if status != expected:
        raise SystemExit(f"{url} with If-None-Match {etag} answered {status}, not {expected}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds over the two variants")
    parser.add_argument("--duration", type=int, default=4, help="seconds per variant and round")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pin-wrk", metavar="CPU", help="run wrk under taskset -c CPU")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (apt-get install -y wrk)")

    setup = prepare_cart()
    session_id = session_mid_render(setup)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    poll_url = f"{base}/api/v1/cart-tryons/{session_id}"
    variants = {
        "bare DRF view": (f"{base}/bench/bare-cart/{session_id}?org={setup.organization_id}", None, {}),
        "partner GET /v1/cart-tryons/{id}": (poll_url, setup.raw_key, {}),
        "partner 304 (current ETag)": (poll_url, setup.raw_key, None),  # the ETag is read once it serves
        "partner changed (older ETag)": (poll_url, setup.raw_key, None),
        "bare customer read": (f"{base}/bench/bare/shopper-42?org={setup.organization_id}", None, {}),
    }
    samples: dict[str, list[dict]] = {name: [] for name in variants}
    server = _start_gunicorn(port)
    try:
        _wait_ready(variants["bare DRF view"][0])
        _check_answer(variants["bare DRF view"][0], None)
        etag = _check_answer(poll_url, setup.raw_key)
        variants["partner 304 (current ETag)"] = (poll_url, setup.raw_key, {"If-None-Match": etag})
        # A state no stamp holds any more, with links still fresh: the client is behind, the answer cached.
        older = etag.replace(etag.split('"')[1].split("-")[0], "0ld5tate", 1)
        variants["partner changed (older ETag)"] = (poll_url, setup.raw_key, {"If-None-Match": older})
        _check_status(poll_url, setup.raw_key, etag, 304)
        _check_status(poll_url, setup.raw_key, older, 200)
        names = list(variants)
        for round_number in range(args.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                url, key, headers = variants[name]
                _wrk(url, key, args.warmup, args.connections, args.pin_wrk, headers)
                samples[name].append(_wrk(url, key, args.duration, args.connections, args.pin_wrk, headers))
    finally:
        server.terminate()
        server.wait(timeout=15)

    from usage.buffer import usage_flush

    while usage_flush():
        pass

    print(
        f"\n{CART_ITEMS}-item session ({COMPLETED} completed with results, {PROCESSING} processing); "
        f"gunicorn 2 sync workers, PostgreSQL + Redis, wrk 1 thread {args.connections} connections; "
        f"{args.rounds} interleaved rounds of {args.duration:g} s per variant; medians"
    )
    print(f"{'variant':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}   req/s per round")
    for name, runs in samples.items():
        rps, p50, p99 = (statistics.median(s[f] for s in runs) for f in ("rps", "p50", "p99"))
        per_round = " ".join(f"{s['rps']:.0f}" for s in runs)
        print(f"{name:34} {rps:9.0f} {p50:8.2f} {p99:8.2f}   {per_round}")
    bare, ours, unchanged, changed, customer = (samples[name] for name in variants)

    def ratio(a, b):
        return statistics.median(x["rps"] / y["rps"] for x, y in zip(a, b, strict=True))

    print("\nratios: median over rounds of the ratio within each round")
    print(f"poll / bare = {ratio(ours, bare):.2f}   (target >= 0.8)")
    print(f"poll 304 / bare customer read = {ratio(unchanged, customer):.2f}   (target >= 0.9)")
    print(f"poll changed / bare = {ratio(changed, bare):.2f}   (target >= 1.5)")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
