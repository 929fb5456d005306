"""Profile: what one cart creation costs inside the Django process, and what it asks of PostgreSQL.

No HTTP server and no load generator: the WSGI application is called in-process with the body
bench/tryons_cart_create.py sends (20 sd items, a fresh `cartId` each time), through the real
`POST /api/v1/cart-tryons` with the full key path. Reports, per create: process CPU (fastest and median
of short rounds; other load only adds time), Python function calls (deterministic), the SQL statements
sent and the time from the organization row lock to commit (how long creates queue behind one another on
one organization: the floor of the 16-connection benchmark). `--cprofile` prints where the CPU goes.

    .venv/bin/python bench/tryons_cart_profile.py [--creates 40] [--rounds 10] [--cprofile] [--sql]

Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL as in bench/apikeys_auth.py (the Redis db is flushed).
No `__main__` figures with a target: `python -m bench` runs it and shows its report only.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tryons_http import garments, prepare_cart  # noqa: E402


class _Statements:
    """Counts statements and times the span from `SELECT ... FOR UPDATE` on the organization to COMMIT."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.log: list[str] = []
        self.lock_started: float | None = None
        self.lock_spans: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        head = sql.lstrip().split(None, 1)[0].upper()
        if head in ("SELECT", "INSERT", "UPDATE"):
            table = sql.split('"', 2)[1] if '"' in sql else "?"
            head = f"{head} {table}"
        self.kinds[head] += 1
        self.log.append(sql[:160])
        if "FOR UPDATE" in sql and '"organizations_organization"' in sql and self.lock_started is None:
            from django.db import transaction

            self.lock_started = time.perf_counter()
            transaction.on_commit(self.committed)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[head] += time.perf_counter() - started

    def committed(self) -> None:
        if self.lock_started is not None:
            self.lock_spans.append(time.perf_counter() - self.lock_started)
            self.lock_started = None


def _server_cpu(pid: int) -> float:
    """CPU seconds the PostgreSQL backend serving this process has used (user + system, from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--creates", type=int, default=40, help="creates per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cprofile", action="store_true", help="print a profile of the creates")
    parser.add_argument("--sql", action="store_true", help="print the statements of one create")
    args = parser.parse_args()

    setup = prepare_cart()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    application = get_wsgi_application()
    template = json.dumps(
        {
            "cartId": "__CART_ID__",
            "customerPhotoS3Key": setup.photo_key,
            "cartItems": garments(),
            "renderQuality": "sd",
            "metadata": {"channel": "bench"},
        },
        separators=(",", ":"),
    )
    counter = iter(range(10**9))
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def create() -> None:
        body = template.replace("__CART_ID__", f"profile-{time.time_ns()}-{next(counter)}").encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/cart-tryons",
            "QUERY_STRING": "",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_ACCEPT": "*/*",
            "HTTP_X_API_KEY": setup.raw_key,
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        response = application(environ, start_response)
        b"".join(response)
        response.close()

    def run(count: int) -> None:
        for _ in range(count):
            create()
        if any(not status.startswith("200") for status in statuses):
            raise SystemExit(f"cart create answered {sorted(set(statuses))}")
        statuses.clear()

    run(20)  # warm-up: connections, the key's verification, prepared statements

    statements = _Statements()
    with connection.execute_wrapper(statements):
        run(1)
        one_create = list(statements.log)
        statements.kinds.clear()
        statements.seconds.clear()
        run(args.creates)
    per_create = {kind: count / args.creates for kind, count in sorted(statements.kinds.items())}
    seconds = {kind: total / args.creates * 1e3 for kind, total in statements.seconds.items()}
    if args.sql:
        print("\nstatements of one create:")
        for sql in one_create:
            print(f"  {sql}")

    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(args.creates)
        profiler.disable()
        report = io.StringIO()
        stats = pstats.Stats(profiler, stream=report).strip_dirs()
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
        print(report.getvalue())
        return

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    cpu, wall, server = [], [], []
    for _ in range(args.rounds):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        started_server = _server_cpu(backend)
        run(args.creates)
        cpu.append((time.process_time() - started_cpu) / args.creates * 1e3)
        wall.append((time.perf_counter() - started_wall) / args.creates * 1e3)
        server.append((_server_cpu(backend) - started_server) / args.creates * 1e3)
    profiler = cProfile.Profile()
    profiler.enable()
    run(args.creates)
    profiler.disable()
    calls = pstats.Stats(profiler).total_calls / args.creates

    print(f"\nin-process cart creates (20 sd items), {args.rounds} rounds of {args.creates}")
    print(f"CPU ms per create: fastest round {min(cpu):.2f}, median {statistics.median(cpu):.2f}")
    print(f"wall ms per create: fastest round {min(wall):.2f}, median {statistics.median(wall):.2f}")
    print(
        f"PostgreSQL backend CPU ms per create: fastest round {min(server):.2f}, "
        f"median {statistics.median(server):.2f} (from /proc; commits' WAL writes included)"
    )
    print(f"Python calls per create: {calls:.0f}")
    print(f"SQL statements per create: {sum(per_create.values()):.1f}, {sum(seconds.values()):.2f} ms in all")
    for kind, count in per_create.items():
        print(f"  {count:4g} x {kind:45} {seconds[kind]:6.2f} ms (round trip and our side of it)")
    if statements.lock_spans:
        spans = sorted(span * 1e3 for span in statements.lock_spans)
        print(
            "organization row lock held (FOR UPDATE to COMMIT, one process): "
            f"median {statistics.median(spans):.2f} ms, max {spans[-1]:.2f} ms"
        )


if __name__ == "__main__":
    main()
