"""Benchmark: the CPU one request costs inside the Django process, bare DRF view vs the partner key path.

No HTTP server and no load generator: the WSGI application is called in-process, so the figures are the
Python work per request (process CPU time, which a busy machine disturbs far less than req/s). Both
variants read the same customer through the same service and serializer (see bench/apikeys_urls.py); the
partner one is the real `GET /api/v1/customers/{externalId}` with key authentication, scope check, rate
limit and usage recording, on PostgreSQL + Redis. Short rounds of the two variants are interleaved; the
fastest round of each is reported (other load only adds time) next to the median.

    .venv/bin/python bench/apikeys_profile.py [--requests 200] [--rounds 25] [--cprofile partner|bare]

Environment: BENCH_DATABASE_URL [postgres://postgres@127.0.0.1:5432/garmax_bench], BENCH_REDIS_URL
[redis://127.0.0.1:6379/1] (flushed).
"""

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.apikeys_auth import prepare  # noqa: E402


def _environ(path: str, query: str = "", key: str | None = None) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT": "*/*",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if key:
        environ["HTTP_X_API_KEY"] = key
    return environ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round and variant")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--cprofile", choices=["partner", "bare"], help="print a profile of one variant")
    args = parser.parse_args()

    setup = prepare()
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    variants = {
        "bare": _environ(f"/bench/bare/{setup.external_id}", f"org={setup.organization_id}"),
        "partner": _environ(f"/api/v1/customers/{setup.external_id}", key=setup.raw_key),
    }
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def run(environ: dict, count: int) -> None:
        for _ in range(count):
            response = application(dict(environ), start_response)
            b"".join(response)
            response.close()
        if any(not status.startswith("200") for status in statuses):
            raise SystemExit(f"{environ['PATH_INFO']} answered {sorted(set(statuses))}")
        statuses.clear()

    for environ in variants.values():
        run(environ, 300)  # warm-up: connections, caches, the key's verification

    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(variants[args.cprofile], args.requests)
        profiler.disable()
        report = io.StringIO()
        stats = pstats.Stats(profiler, stream=report).strip_dirs()
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        print(report.getvalue())
        return

    cpu = {name: [] for name in variants}
    wall = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, environ in variants.items():
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            run(environ, args.requests)
            cpu[name].append((time.process_time() - started_cpu) / args.requests * 1e6)
            wall[name].append((time.perf_counter() - started_wall) / args.requests * 1e6)

    print(f"\nin-process WSGI calls, {args.rounds} interleaved rounds of {args.requests} requests")
    print(f"{'variant':10} {'CPU µs/req min':>15} {'median':>7} {'wall µs/req min':>16} {'median':>7}")
    for name in variants:
        print(
            f"{name:10} {min(cpu[name]):15.0f} {statistics.median(cpu[name]):7.0f}"
            f" {min(wall[name]):16.0f} {statistics.median(wall[name]):7.0f}"
        )
    # Python function calls per request: a deterministic measure of the interpreted work, which a busy
    # machine cannot disturb (C-level work such as socket I/O and JSON encoding is not counted).
    calls = {}
    for name, environ in variants.items():
        profiler = cProfile.Profile()
        profiler.enable()
        run(environ, 100)
        profiler.disable()
        calls[name] = pstats.Stats(profiler).total_calls / 100
    print(f"{'variant':10} {'Python calls/req':>17}")
    for name in variants:
        print(f"{name:10} {calls[name]:17.0f}")
    print(f"\npartner calls - bare calls = {calls['partner'] - calls['bare']:.0f} per request")
    # Other load only ever adds CPU time, so the fastest round is the least disturbed one.
    print(f"\npartner CPU - bare CPU = {min(cpu['partner']) - min(cpu['bare']):.0f} µs per request")
    print(f"partner CPU / bare CPU = {min(cpu['partner']) / min(cpu['bare']):.2f}")


if __name__ == "__main__":
    main()
