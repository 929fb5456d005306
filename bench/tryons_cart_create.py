"""Benchmark: cart creation, `POST /api/v1/cart-tryons` with 20 items at 16 connections on one organization.

Every create validates 20 items, prices them, charges the organization's credits (one row lock, so 16
concurrent creators on one organization is the worst case), writes the session and its 20 item rows and
the ledger entry in one transaction, and enqueues the processing task on commit. Starts gunicorn (sync
workers, 2 × cores as README's production set-up: a create waits on PostgreSQL for about a third of its
time, which two workers on two cores cannot fill with other work) on PostgreSQL + Redis (the Celery
broker; no worker consumes, the messages only pile up) with bench/apikeys_auth.py's settings and drives,
with wrk (1 thread, 16 connections, a Lua script giving every request its own `cartId` so none is a
replay), two variants in interleaved rounds:
- bare: a stock DRF view calling the same serializers and service, no authentication, the organization
  in the query string (bench/apikeys_urls.py);
- partner: the real endpoint with the full key path (key, scope, rate limit, usage).

Afterwards it checks the books: every session was charged exactly once (lost updates = balance consumed
minus the sessions' charges, must be 0) and the balance equals the ledger's sum.

    .venv/bin/python bench/tryons_cart_create.py [--rounds 3] [--duration 5] [--connections 16] [--workers N]

Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL as in bench/apikeys_auth.py.
"""

import argparse
import json
import math
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.apikeys_auth import _free_port, _start_gunicorn, _wait_ready  # noqa: E402
from bench.tryons_http import CART_ITEMS, CREDITS, garments, prepare_cart  # noqa: E402

# wrk runs this per request (one thread, so the counter is unique within a run): a fresh cartId each time.
LUA = """
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{key_header}
request = function()
  counter = counter + 1
  local body = string.gsub(wrk.body_template, "__CART_ID__", "{tag}-" .. counter)
  return wrk.format(nil, nil, nil, body)
end
"""


def _wrk_post(url: str, body: str, key: str | None, tag: str, duration: int, connections: int) -> dict:
    key_header = f'wrk.headers["X-API-Key"] = "{key}"' if key else ""
    script = LUA.format(key_header=key_header, tag=tag) + f"wrk.body_template = {json.dumps(body)}\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
        output = subprocess.run(
            [*command, "-s", handle.name, url], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(handle.name)
    if "Non-2xx or 3xx responses" in output:
        raise SystemExit(f"non-2xx responses from {url}:\n{output}")
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p99": float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)] if p99 else math.nan,
    }


def books(organization_id: str) -> dict:
    """Sessions created, what they were charged, and whether balance and ledger agree."""
    from django.db.models import Count, Sum

    from organizations.models import CreditLedgerEntry, Organization
    from tryons.models import CartTryOnSession

    sessions = CartTryOnSession.objects.filter(organization_id=organization_id).aggregate(
        count=Count("id"), charged=Sum("credits_charged"), items=Sum("item_count")
    )
    charges = CreditLedgerEntry.objects.filter(organization_id=organization_id, kind="charge").aggregate(
        count=Count("id"), total=Sum("amount")
    )
    ledger = CreditLedgerEntry.objects.filter(organization_id=organization_id).aggregate(total=Sum("amount"))
    balance = Organization.objects.get(pk=organization_id).credits
    return {
        "sessions": sessions["count"],
        "items": sessions["items"] or 0,
        "charged": sessions["charged"] or Decimal(0),
        "charge_entries": charges["count"],
        "ledger_charged": -(charges["total"] or Decimal(0)),
        "balance": balance,
        "ledger_sum": ledger["total"] or Decimal(0),
    }


def _key_verified(url: str, key: str) -> None:
    request = urllib.request.Request(url, headers={"X-API-Key": key})  # noqa: S310 - our own loopback
    try:
        with urllib.request.urlopen(request, timeout=30):  # noqa: S310
            pass
    except urllib.error.HTTPError as exc:  # a scope refusal still verified the key
        if exc.code in (401, 429):
            raise SystemExit(f"the bench key was not verified: {exc.code}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over the two variants")
    parser.add_argument("--duration", type=int, default=5, help="seconds per variant and round")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="gunicorn sync workers; default 2 x cores, as README's production set-up",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (apt-get install -y wrk)")

    setup = prepare_cart()
    body = json.dumps(
        {
            "cartId": "__CART_ID__",
            "customerPhotoS3Key": setup.photo_key,
            "cartItems": garments(),
            "renderQuality": "sd",
            "metadata": {"channel": "bench"},
        },
        separators=(",", ":"),
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    variants = {
        "bare DRF view": (f"{base}/bench/bare-cart-create?org={setup.organization_id}", None),
        "partner POST /v1/cart-tryons": (f"{base}/api/v1/cart-tryons", setup.raw_key),
    }
    samples: dict[str, list[dict]] = {name: [] for name in variants}
    run = secrets.token_hex(4)
    server = _start_gunicorn(port, workers=args.workers)
    try:
        _wait_ready(f"{base}/health")
        # One request first: a key's first verification is single-flight (apikeys.guard), and 16 connections
        # presenting a key nobody has verified yet would be answered 429 while it runs.
        _key_verified(f"{base}/api/v1/cart-tryons?limit=1", setup.raw_key)
        names = list(variants)
        for round_number in range(args.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                url, key = variants[name]
                tag = f"{run}-{round_number}-{name.split()[0]}"
                _wrk_post(url, body, key, f"{tag}-warm", args.warmup, args.connections)
                samples[name].append(_wrk_post(url, body, key, tag, args.duration, args.connections))
    finally:
        server.terminate()
        server.wait(timeout=15)

    from usage.buffer import usage_flush

    while usage_flush():
        pass

    print(
        f"\n{CART_ITEMS}-item carts on one organization; gunicorn {args.workers} sync workers, PostgreSQL + "
        f"Redis, wrk 1 thread {args.connections} connections; {args.rounds} interleaved rounds of "
        f"{args.duration:g} s per variant; medians"
    )
    print(f"{'variant':34} {'creates/s':>9} {'p99 ms':>8}   creates/s per round")
    medians = {}
    for name, runs in samples.items():
        medians[name] = statistics.median(s["rps"] for s in runs)
        p99 = statistics.median(s["p99"] for s in runs)
        per_round = " ".join(f"{s['rps']:.0f}" for s in runs)
        print(f"{name:34} {medians[name]:9.0f} {p99:8.2f}   {per_round}")

    state = books(setup.organization_id)
    answered = sum(s["requests"] for runs in samples.values() for s in runs)
    price = Decimal("12.00")  # 20 sd items: 20 x 1 x (1 - 0.40)
    consumed = Decimal(CREDITS) - state["balance"]
    # A lost update (two charges computing the balance from the same read) leaves the balance higher than
    # the sessions' charges say it should be.
    lost = state["sessions"] * price - consumed
    print(
        f"\nsessions {state['sessions']} ({state['items']} items; wrk counted {answered} answers in the "
        f"measured windows, warm-ups and in-flight requests make up the rest); charge entries "
        f"{state['charge_entries']}; credits consumed {consumed}; sessions x {price} = "
        f"{state['sessions'] * price}; balance {state['balance']}; ledger sum {state['ledger_sum']}"
    )
    if state["charge_entries"] != state["sessions"] or state["charged"] != state["sessions"] * price:
        print("MISMATCH: a session without exactly one charge of its price")
    bare, ours = (samples[name] for name in variants)
    ratio = statistics.median(o["rps"] / b["rps"] for o, b in zip(ours, bare, strict=True))
    # Issue 36: the key path costs a create at most 5 % of the bare view calling the same service.
    print(f"\npartner / bare = {ratio:.2f}   (target >= 0.95)")
    print(f"partner creates/s = {medians['partner POST /v1/cart-tryons']:.0f}   (target >= 150)")
    print(f"lost updates = {lost}   (target == 0)")
    print(f"balance - ledger = {state['balance'] - state['ledger_sum']}   (target == 0)")
    print(f"sessions without one charge = {abs(state['charge_entries'] - state['sessions'])}   (target == 0)")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
