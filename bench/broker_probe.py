"""The task bench/broker_throughput.py times: it only notes when it started, so what is measured is the broker
and Celery's own path (publish with the project's settings, delivery, prefetch, late ack), not our work.

A worker started with `celery -A config worker --include bench.broker_probe` runs the project's Celery app
(every setting of config/settings.py) with this one task added.
"""

import os
import time

import redis

from config.celery import app

_results = None


@app.task(name="bench.broker_probe", ignore_result=True)
def broker_probe(sent_at: float) -> None:
    global _results
    if _results is None:  # one connection per worker process, made after the fork
        _results = redis.Redis.from_url(os.environ["BENCH_RESULTS_URL"])
    _results.rpush("bench:broker:started", f"{sent_at} {time.time()}")
