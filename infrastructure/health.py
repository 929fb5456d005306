"""Liveness (`/health`) and readiness (`/health/ready`).

Readiness answers 503 when this node cannot serve: the database, the cache or the broker is unreachable. It
names the broker (`rabbitmq`, `redis` or the embedded `filesystem`) and reports the task queues: a queue
holding work that no running worker consumes (workers started with a `-Q` list that leaves it out, or none
running) makes the answer `"status": "degraded"` with the queue named under `checks.queues.unconsumed`. That
stays a 200 on purpose: the web node itself is fine and still takes
partners' work, which waits in the queue; taking every web node out of rotation for it would turn a stalled
pipeline into a full outage. Alert on it instead.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from api.errors import method_not_allowed

logger = logging.getLogger(__name__)

# Asking the workers which queues they consume is a broadcast that waits this long for replies; it is only
# asked when some queue holds work, and the answer is shared through the cache for CONSUMERS_CACHE_SECONDS.
CONSUMERS_REPLY_SECONDS = 0.5
CONSUMERS_CACHE_SECONDS = 10
CONSUMERS_CACHE_KEY = "health:consumed-queues"


class QueuesUnconsumed(Exception):
    """Some queue holds work that no running worker consumes."""

    def __init__(self, detail: dict):
        super().__init__(", ".join(detail["unconsumed"]))
        self.detail = detail


def _probe(view):
    """Probes are GET (or HEAD): anything else is a JSON 405, never Django's CSRF page."""

    @csrf_exempt
    def probe(request):
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed(request)
        return view(request)

    probe.__name__ = probe.__qualname__ = view.__name__
    probe.__doc__ = view.__doc__
    return probe


@_probe
def live(request):
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache():
    cache.set("health:probe", "1", 10)
    if cache.get("health:probe") != "1":
        raise RuntimeError("cache did not return the value just written")


def _check_broker() -> dict:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    # Which broker, never its URL (it carries the password).
    return {"broker": settings.BROKER_KIND}


def queues_pending() -> dict[str, int]:
    """Messages waiting in each queue the app declares (not counting those a worker holds unacknowledged)."""
    from config.celery import app

    pending = {}
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        for name, queue in app.amqp.queues.items():
            _, message_count, _ = queue.bind(channel).queue_declare()
            pending[name] = message_count
    return pending


def queues_consumed() -> set[str]:
    """The queues at least one running worker consumes, as the workers themselves answer."""
    consumed = cache.get(CONSUMERS_CACHE_KEY)
    if consumed is None:
        from config.celery import app

        replies = app.control.inspect(timeout=CONSUMERS_REPLY_SECONDS).active_queues() or {}
        consumed = sorted({queue["name"] for queues in replies.values() for queue in queues})
        cache.set(CONSUMERS_CACHE_KEY, consumed, CONSUMERS_CACHE_SECONDS)
    return set(consumed)


def _check_queues() -> dict:
    pending = queues_pending()
    waiting = sorted(name for name, count in pending.items() if count)
    unconsumed = sorted(set(waiting) - queues_consumed()) if waiting else []
    detail = {"pending": pending, "unconsumed": unconsumed}
    if unconsumed:
        raise QueuesUnconsumed(detail)
    return detail


@_probe
def ready(request):
    checks = {}
    for name, check in (
        ("database", _check_database),
        ("cache", _check_cache),
        ("broker", _check_broker),
        ("queues", _check_queues),
    ):
        started = time.perf_counter()
        try:
            detail = check() or {}
            checks[name] = {"status": "ok", "latencyMs": _since(started), **detail}
        except QueuesUnconsumed as exc:
            logger.warning("readiness: no running worker consumes queue(s) holding work: %s", exc)
            checks[name] = {"status": "warning", "latencyMs": _since(started), **exc.detail}
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the type is enough to act on
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = {"status": "error", "error": type(exc).__name__}
    statuses = {c["status"] for c in checks.values()}
    if "error" in statuses:
        status, code = "unavailable", 503
    elif "warning" in statuses:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
