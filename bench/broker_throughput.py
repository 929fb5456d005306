"""Celery through each broker: enqueue-to-start latency and tasks/s, RabbitMQ against Redis in the same run.

For each broker a real `celery -A config worker` (prefork, 2 processes: one per core, as the README runs it)
with the project's settings (acks late, prefetch 1; on RabbitMQ durable quorum queues and publisher
confirms) runs bench/broker_probe.py's task, which only records when it started. Then:

- latency: BENCH_LATENCY_SAMPLES tasks (default 300) sent one at a time, each after the previous one
  started; enqueue-to-start is the time from just before `.delay()` to the task's first line (median, p95);
- throughput, each side on its own: BENCH_TASKS tasks (default 3,000) sent from one thread as fast as
  `.delay()` returns into the stopped worker's queue (sends/s; with confirms each send waits for RabbitMQ
  to have the message on disk), then a fresh worker drains them (tasks/s, first start to last start).

Redis is the runner's private redis-server (REDIS_URL); RabbitMQ is the local server (RABBITMQ_URL, default
guest on 127.0.0.1) in a vhost created for the run and deleted after it. Each broker is measured in its own
child process so the Celery app is configured from the environment exactly as in production. Figures are
ratios RabbitMQ / Redis; the absolute numbers are printed too.

    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/broker_throughput.py
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garmax_broker_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 50)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Every render is rendered: identical carts are what these measure, not handed one another's images.
os.environ["RENDER_REUSE_DAYS"] = "0"
LATENCY_SAMPLES = int(os.environ.get("BENCH_LATENCY_SAMPLES", "300"))
TASKS = int(os.environ.get("BENCH_TASKS", "3000"))
LOG_DIR = ROOT / "var"


def measure(broker: str) -> dict:
    """In a child whose CELERY_BROKER_URL names the broker: start the worker, time both runs, stop it."""
    import django
    import redis

    django.setup()
    from tests.workers import start_worker, stop_worker

    results = redis.Redis.from_url(os.environ["BENCH_RESULTS_URL"])
    results.delete("bench:broker:started")
    log = LOG_DIR / f"bench-broker-{broker}-worker.log"
    log.parent.mkdir(exist_ok=True)
    log.write_bytes(b"")
    worker_args = ("--include", "bench.broker_probe", "-c", "2", "--loglevel", "INFO")
    worker = start_worker(*worker_args, log=log)
    from bench.broker_probe import broker_probe

    def started(count: int, timeout: float = 300) -> list[tuple[float, float]]:
        deadline = time.monotonic() + timeout
        while results.llen("bench:broker:started") < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"{broker}: only {results.llen('bench:broker:started')} of {count} started")
            time.sleep(0.0005)
        rows = results.lrange("bench:broker:started", 0, -1)
        results.delete("bench:broker:started")
        return [tuple(map(float, row.split())) for row in rows]

    try:
        for _ in range(20):  # warm-up: the worker's pools, the broker's channels
            broker_probe.delay(time.time())
        started(20)
        latencies = []
        for _ in range(LATENCY_SAMPLES):
            broker_probe.delay(time.time())
            ((sent, begun),) = started(1)
            latencies.append((begun - sent) * 1000)
    finally:
        stop_worker(worker, timeout=30)
    # Throughput with the two sides apart: the sends into an idle queue, then a fresh worker draining it.
    first = time.perf_counter()
    for _ in range(TASKS):
        broker_probe.delay(time.time())
    sends_per_s = TASKS / (time.perf_counter() - first)
    worker = start_worker(*worker_args, log=log)
    try:
        begun = sorted(begun for _, begun in started(TASKS))
    finally:
        stop_worker(worker, timeout=30)
    latencies.sort()
    return {
        "latency_ms_p50": statistics.median(latencies),
        "latency_ms_p95": latencies[int(len(latencies) * 0.95) - 1],
        "tasks_per_s": (TASKS - 1) / (begun[-1] - begun[0]),
        "sends_per_s": sends_per_s,
    }


def run_child(broker: str, broker_url: str) -> dict:
    env = {**os.environ, "CELERY_BROKER_URL": broker_url, "BENCH_RESULTS_URL": os.environ["REDIS_URL"]}
    child = subprocess.run(
        [sys.executable, __file__, "--measure", broker], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if child.returncode:
        raise SystemExit(f"{broker} run failed:\n{child.stdout}\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    from tests import rabbitmq

    figures = {"redis": run_child("redis", os.environ["REDIS_URL"])}
    with rabbitmq.private_vhost("garmax_bench") as url:
        figures["rabbitmq"] = run_child("rabbitmq", url)
    for broker, f in figures.items():
        print(
            f"{broker:9}: enqueue-to-start p50 {f['latency_ms_p50']:5.2f} ms"
            f", p95 {f['latency_ms_p95']:5.2f} ms;"
            f" worker {f['tasks_per_s']:6.1f} tasks/s; one sender {f['sends_per_s']:6.1f} sends/s"
        )
    ratio = {key: figures["rabbitmq"][key] / figures["redis"][key] for key in figures["redis"]}
    print(f"samples: {LATENCY_SAMPLES} one-at-a-time tasks for latency, {TASKS} for throughput")
    print(f"rabbitmq/redis sends/s        = {ratio['sends_per_s']:.2f}")
    print(f"rabbitmq/redis p95 latency    = {ratio['latency_ms_p95']:.2f}")
    print(f"rabbitmq/redis worker tasks/s = {ratio['tasks_per_s']:.2f} (target >= 0.5)")
    print(f"rabbitmq/redis p50 latency    = {ratio['latency_ms_p50']:.2f} (target <= 3)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2])))
    else:
        main()
