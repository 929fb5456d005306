"""Sustained request recording: 2,000 requests/s offered for a while, recorded with no growing backlog.

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python bench/usage_recording.py [--seconds 60]
        [--rate 2000] [--web-processes 2]

`--seconds 600` is the full ten minutes of issue 22; the default is one minute, to spare a shared machine.
The real recording path end to end: `--web-processes` processes each call usage/buffer.py's
`usage_record` (what every partner response does) at their share of `--rate`, so each one batches in
memory and its pusher thread RPUSHes to Redis once a second, as a gunicorn worker would; one more process
runs the beat task's body (`usage_flush`) every 5 seconds, as the worker would, writing the request
log's daily partition and the rollups. At the end the web processes exit normally (their atexit push is
the graceful shutdown) and the last flush runs.

Figures (ratios against the offered load of the same run):
- stored / offered: every record offered ends in the request log (target == 1);
- flush busy / interval: share of each 5 s interval the flush needs (headroom; target <= 0.5);
- backlog late-half max / one interval: in the second half of the run the Redis list never holds more
  than about one interval of traffic (target <= 1.5), and the late half's average backlog is printed
  next to the early half's: a growing backlog shows as late > early.
"""

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
    sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL.")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from api.ids import new_id  # noqa: E402
from apikeys.services import apikey_create  # noqa: E402
from infrastructure.shared_cache import redis_client  # noqa: E402
from organizations.services import organization_create  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.scale_data import ROUTES, STATUSES  # noqa: E402
from usage import buffer  # noqa: E402
from usage.models import RequestLogEntry  # noqa: E402

FLUSH_INTERVAL = 5.0  # config/celery.py's beat schedule for apikeys.flush_usage


def web_process(key_ids, rate: float, seconds: float) -> None:
    """One web worker's worth of partner responses, each recorded as PartnerAPIMixin records it.

    Runs as its own interpreter (not a multiprocessing fork, whose children skip atexit), so that its
    normal exit runs the atexit push exactly as a gracefully stopped gunicorn worker does.
    """
    started = time.monotonic()
    sent = 0
    pid = os.getpid()
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= seconds:
            break
        due = int(elapsed * rate) + 1
        while sent < due:
            method, route = ROUTES[sent % len(ROUTES)]
            status, error = STATUSES[sent % len(STATUSES)]
            buffer.usage_record(
                key_id=key_ids[sent % len(key_ids)],
                method=method,
                route=route,
                status_code=status,
                duration_ms=3 + sent % 40,
                request_id=f"req_{pid}_{sent}",
                error_code=error,
                client_address="203.0.113.7",
            )
            sent += 1
        time.sleep(0.005)
    print(sent, flush=True)
    # Normal exit: the atexit hook pushes the last batch (what a graceful gunicorn stop does).


def flusher(stop, busy_times) -> None:
    connections.close_all()
    next_tick = time.monotonic()
    while not stop.is_set():
        started = time.monotonic()
        buffer.usage_flush()
        busy_times.append(time.monotonic() - started)
        next_tick += FLUSH_INTERVAL
        stop.wait(max(0.0, next_tick - time.monotonic()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--web-child", nargs="+", help=argparse.SUPPRESS)  # internal: one web process
    args = parser.parse_args()
    if args.web_child:
        web_process(args.web_child[2:], float(args.web_child[0]), float(args.web_child[1]))
        return

    call_command("migrate", verbosity=0)
    redis = redis_client()
    redis.delete(buffer.BUFFER_KEY)
    organization = organization_create(owner=UserFactory(username=new_id("bench")), name="bench-recording")
    key_ids = [apikey_create(organization=organization, name=f"k{n}", scopes=["all"])[0].id for n in range(3)]
    before = RequestLogEntry.objects.count()
    connections.close_all()

    context = multiprocessing.get_context("fork")
    manager = context.Manager()
    busy_times = manager.list()
    stop = context.Event()
    flush_process = context.Process(target=flusher, args=(stop, busy_times))
    flush_process.start()
    share = str(args.rate / args.web_processes)
    child = [sys.executable, __file__, "--web-child", share, str(args.seconds), *key_ids]
    started = time.monotonic()
    webs = [subprocess.Popen(child, stdout=subprocess.PIPE, text=True) for _ in range(args.web_processes)]
    backlog = []
    while any(web.poll() is None for web in webs):
        time.sleep(FLUSH_INTERVAL)
        backlog.append(redis.llen(buffer.BUFFER_KEY))
        print(f"  t={time.monotonic() - started:5.0f} s  backlog={backlog[-1]:6d} lines", flush=True)
    offered = sum(int(web.communicate()[0].split()[-1]) for web in webs)
    stop.set()
    flush_process.join()
    # The last records: what the next beat ticks would do after the web processes stopped.
    while redis.llen(buffer.BUFFER_KEY):
        buffer.usage_flush()
    stored = RequestLogEntry.objects.count() - before

    interval_load = args.rate * FLUSH_INTERVAL
    half = len(backlog) // 2
    early = statistics.mean(backlog[:half]) if half else 0
    late = statistics.mean(backlog[half:]) if backlog else 0
    busy = list(busy_times)
    print(
        f"offered={offered:,} in {args.seconds:.0f} s ({offered / args.seconds:,.0f}/s), stored={stored:,}; "
        f"flush runs={len(busy)}, mean {statistics.mean(busy):.2f} s, max {max(busy):.2f} s per "
        f"{FLUSH_INTERVAL:.0f} s interval; backlog early half {early:,.0f}, late half {late:,.0f}, "
        f"max {max(backlog):,} lines"
    )
    print(f"offered rate = {offered / args.seconds:.0f} req/s (target >= {0.95 * args.rate:.0f})")
    print(f"stored / offered = {stored / max(offered, 1):.4f} (target == 1)")
    print(f"flush busy / interval = {statistics.mean(busy) / FLUSH_INTERVAL:.2f} (target <= 0.5)")
    late_max = max(backlog[half:]) if backlog else 0
    print(f"backlog late-half max / one interval = {late_max / interval_load:.2f} (target <= 1.5)")
    print(f"backlog late / early half = {(late + 1) / (early + 1):.2f}")


if __name__ == "__main__":
    main()
