"""The Prometheus metrics: every family is declared here, with low-cardinality labels only.

No label ever carries an organization, key, customer or object id: a route template, a status, an engine, a
queue or an outcome, each from a short fixed set. Counting goes through the small functions below, which
callers in the apps use after their transaction commits (a rolled-back charge was never charged).

Processes: gunicorn runs several workers and a Celery worker a pool of children. With
`PROMETHEUS_MULTIPROC_DIR` set (prometheus-client's multiprocess mode) each process writes its samples to
files there and the scraped process adds them all up (`exposition_registry`); without it (embedded mode,
one process) the default registry is used.
"""

import os
import time

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily

# Partner reads take ~1-20 ms; the tail up to the web worker's timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RENDER_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# Event recorded -> partner answered 2xx: first attempts take well under a second; retries 5 s, 15 s, 45 s...
LAG_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

HTTP_REQUESTS = Counter(
    "garmax_http_requests",
    "HTTP requests by route template, method, status code and authentication outcome.",
    ["route", "method", "status", "auth"],
)
HTTP_REQUEST_DURATION = Histogram(
    "garmax_http_request_duration_seconds",
    "Time from the first middleware to the response, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "garmax_rate_limited_requests", "Requests refused with 429 (rate limits, sign-in lockouts).", ["route"]
)
CREDITS = Counter("garmax_credits", "Credits moved through the ledger, by kind (absolute amounts).", ["kind"])
CART_SESSIONS = Counter(
    "garmax_cart_sessions", "Cart try-on sessions entering a state (queued, then an end state).", ["status"]
)
TRYONS = Counter(
    "garmax_tryons",
    "Try-ons reaching an end state, by source: cart (items), single, look (a step of a look).",
    ["status", "source"],
)
RENDER_DURATION = Histogram(
    "garmax_render_duration_seconds",
    "Time one try-on spent with its renderer (all attempts), by engine and outcome.",
    ["engine", "outcome"],
    buckets=RENDER_BUCKETS,
)
WEBHOOK_ATTEMPTS = Counter(
    "garmax_webhook_attempts",
    "Webhook delivery attempts by outcome (success, http_error, gone, network_error).",
    ["outcome"],
)
WEBHOOK_DELIVERY_LAG = Histogram(
    "garmax_webhook_delivery_lag_seconds",
    "From the event being recorded to the partner's 2xx, retries included.",
    buckets=LAG_BUCKETS,
)
ENGINE_CIRCUIT_OPENED = Counter(
    "garmax_engine_circuit_opened",
    "A hosted engine's circuit opened at once for a reason no retry mends (out_of_credits), by engine.",
    ["engine", "reason"],
)
OUTBOUND_REFUSALS = Counter(
    "garmax_outbound_refusals",
    "Outbound requests the SSRF guard refused (private, loopback or plain-http targets, redirects).",
    ["method"],
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition_registry(*, with_queues: bool) -> CollectorRegistry:
    """The registry a scrape renders: every process's samples, plus the Celery queues if asked."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_DefaultRegistry())
    if with_queues:
        registry.register(QueueCollector())
    return registry


class _DefaultRegistry:
    """The process's own default registry as one collector (single-process mode)."""

    def collect(self):
        return REGISTRY.collect()


# --- counting (callers: the apps' services, after commit) --------------------------------------------


def credits_moved(*, kind: str, amount) -> None:
    CREDITS.labels(kind=kind).inc(abs(float(amount)))


def cart_session_entered(status: str) -> None:
    CART_SESSIONS.labels(status=status).inc()


def tryon_ended(*, status: str, source: str, count: int = 1) -> None:
    if count:
        TRYONS.labels(status=status, source=source).inc(count)


def render_observed(*, engine: str, outcome: str, seconds: float) -> None:
    RENDER_DURATION.labels(engine=engine, outcome=outcome).observe(seconds)


def webhook_attempt_observed(*, outcome: str, lag_seconds: float | None = None) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome=outcome).inc()
    if lag_seconds is not None:
        WEBHOOK_DELIVERY_LAG.observe(max(0.0, lag_seconds))


def engine_circuit_opened(*, engine: str, reason: str) -> None:
    ENGINE_CIRCUIT_OPENED.labels(engine=engine, reason=reason).inc()


def outbound_refused(*, method: str) -> None:
    OUTBOUND_REFUSALS.labels(method=method).inc()


# --- the Celery queues, read from the broker at scrape time --------------------------------------------

# Celery adds this header to every task message it publishes (infrastructure/observability/worker.py).
PUBLISHED_AT_HEADER = "garmax_published_at"


class QueueCollector:
    """Waiting messages, oldest message age and "holds work nobody consumes" per Celery queue.

    Read from the broker when scraped, so any web node reports the same figures. The age needs the Redis
    broker (it reads the oldest message's publish time); with another broker only the depth is reported.
    A broker that cannot be reached yields no queue samples and `garmax_celery_broker_up 0`.
    """

    def collect(self):
        from infrastructure import health

        up = GaugeMetricFamily("garmax_celery_broker_up", "1 if the broker answered this scrape.")
        length = GaugeMetricFamily(
            "garmax_celery_queue_length", "Messages waiting in the queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "garmax_celery_queue_oldest_task_age_seconds",
            "Age of the oldest waiting message (0 when the queue is empty).",
            labels=["queue"],
        )
        unconsumed = GaugeMetricFamily(
            "garmax_celery_queue_unconsumed",
            "1 if the queue holds work and no running worker consumes it.",
            labels=["queue"],
        )
        try:
            pending = health.queues_pending()
            ages = _oldest_ages(pending)
            consumed = health.queues_consumed() if any(pending.values()) else set(pending)
        except Exception:  # noqa: BLE001 - an unreachable broker is a reading, not a failed scrape
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for queue, count in sorted(pending.items()):
            length.add_metric([queue], count)
            if queue in ages:
                age.add_metric([queue], ages[queue])
            unconsumed.add_metric([queue], 1 if count and queue not in consumed else 0)
        yield from (up, length, age, unconsumed)


def _oldest_ages(pending: dict[str, int]) -> dict[str, float]:
    """Seconds since the oldest waiting message of each queue was published (Redis broker only)."""
    import json

    from config.celery import app

    if not app.conf.broker_url.startswith(("redis://", "rediss://", "unix://")):
        return {}
    now = time.time()
    ages = {}
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        for queue, count in pending.items():
            ages[queue] = 0.0
            if not count:
                continue
            # kombu pushes on the left and pops on the right: the oldest message is the last element.
            raw = client.lindex(queue, -1)
            if raw is None:
                continue
            try:
                published = float(json.loads(raw)["headers"][PUBLISHED_AT_HEADER])
            except (ValueError, KeyError, TypeError):
                continue  # published before this header existed: no age to tell
            ages[queue] = max(0.0, now - published)
    return ages
