"""Usage tracking: one record per partner request (key, method, route template, status, duration, time,
request id, error code, client address), stored in the request log and its rollups (usage/recording.py).

Recording sits on the hot path, so in production it costs no round trip at all: each web process
appends a tuple to an in-memory batch, and a background thread pushes the batch onto a Redis
list (one RPUSH) every second, or at once when it reaches BATCH_MAX lines, and at process exit. The beat
task `apikeys.flush_usage` (every 5 s) moves the list into the database in bulk and advances each key's
`usage_count` / `last_used_at` with F() expressions in the same transaction. So usage statistics lag live
traffic by a few seconds; a web process killed with SIGKILL loses at most its last second of records (a
graceful stop pushes them). Usage is bookkeeping, not billing (credits are), so that is the trade we take
for keeping it off the request's latency (README, "Usage and request logs", says what a SIGKILL can lose).
In embedded mode there is no shared buffer the worker could read, so the record is written directly (a few
small SQLite writes).

From the Redis list on, delivery is at-least-once and in practice exactly-once: a flush reads a batch,
commits it to the database, and only then trims it from the list, under a lock that keeps flushers from
overlapping. A crash before the commit loses nothing (the batch is still in the list); only a crash
between the commit and the trim, one Redis command, would count that batch twice.
"""

import atexit
import json
import logging
import os
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest

from apikeys.models import ApiKey
from infrastructure.shared_cache import redis_client
from organizations.models import Organization
from usage.recording import request_log_store

# Named for the key whose request is recorded, like the key path's own log lines.
logger = logging.getLogger("garmax.apikeys")

BUFFER_KEY = "gx:usage:buffer"
FLUSH_LOCK = "apikey:usage:flush-lock"
FLUSH_LOCK_SECONDS = 120
BATCH_MAX = 200  # lines a web process holds before pushing without waiting for the timer
BATCH_SECONDS = 1.0
BATCH_HARD_CAP = 20_000  # while Redis is down, keep at most this many lines, dropping the oldest
FLUSH_BATCH = 1000
FLUSH_MAX_BATCHES = 50  # bounds one run; the next beat tick continues


def usage_record(
    *,
    key_id: str,
    method: str,
    route: str,
    status_code: int,
    duration_ms: float,
    at: float | None = None,
    request_id: str = "",
    error_code: str = "",
    client_address: str = "",
) -> None:
    """Record one request. Never raises: usage is bookkeeping and must not fail the partner's request."""
    at = time.time() if at is None else at
    # The request log's fields follow the original six, so lines pushed by an older release still parse.
    extra = (request_id, error_code, client_address)
    try:
        if redis_client() is None:
            _store([(key_id, method, route, status_code, round(duration_ms), at, *extra)])
            return
        # Serialized by the pusher, off the request thread.
        record = (key_id, method, route, status_code, round(duration_ms), round(at, 3), *extra)
        with _batch_lock:
            _batch.append(record)
            full = len(_batch) >= BATCH_MAX
        _pusher_ensure_running()
        if full:
            usage_batch_push()
    except Exception:
        logger.warning("Could not record API usage for key %s", key_id, exc_info=False)


_batch: list[tuple] = []
_batch_lock = threading.Lock()
_push_lock = threading.Lock()
_pusher_pid: int | None = None


def usage_batch_push() -> int:
    """Push this process's pending usage lines onto the Redis list; returns how many were pushed.

    On a Redis error the lines go back into the batch (bounded by BATCH_HARD_CAP) for the next try.
    """
    # One push at a time: the exit-time push waits for the pusher thread's in-flight RPUSH, which would
    # otherwise die with the interpreter (daemon threads are stopped after atexit) and take its lines along.
    with _push_lock:
        with _batch_lock:
            records = _batch[:]
            _batch.clear()
        if not records:
            return 0
        try:
            redis_client().rpush(BUFFER_KEY, *(json.dumps(record) for record in records))
        except Exception:
            with _batch_lock:
                _batch[:0] = records
                del _batch[: max(0, len(_batch) - BATCH_HARD_CAP)]
            logger.warning("Could not push %d usage records to Redis; will retry", len(records))
            return 0
        return len(records)


def _pusher_ensure_running() -> None:
    """Start the pushing thread once per process (threads do not survive gunicorn's fork)."""
    global _pusher_pid
    if _pusher_pid == os.getpid():
        return
    with _batch_lock:
        if _pusher_pid == os.getpid():
            return
        _pusher_pid = os.getpid()
    threading.Thread(target=_pusher_loop, name="apikey-usage-pusher", daemon=True).start()


def _pusher_loop() -> None:
    while True:
        time.sleep(BATCH_SECONDS)
        usage_batch_push()


atexit.register(usage_batch_push)


def _acting_organizations(key_ids) -> dict[str, str]:
    """Key id → the organization whose log its requests belong to: a test key's go to the sandbox twin, so
    live usage and request logs never show test traffic (and a test key's usage:read sees only its own)."""
    keys = list(ApiKey.objects.filter(pk__in=key_ids).values_list("pk", "organization_id", "mode"))
    test_organizations = {organization_id for _, organization_id, mode in keys if mode == ApiKey.Mode.TEST}
    sandbox_of = dict(
        Organization.objects.filter(sandbox_of_id__in=test_organizations).values_list("sandbox_of_id", "pk")
    )
    return {
        pk: sandbox_of.get(organization_id, organization_id) if mode == ApiKey.Mode.TEST else organization_id
        for pk, organization_id, mode in keys
    }


def _store(rows: list[tuple]) -> None:
    """Write records to the request log and rollups and advance each key's counters, in one transaction."""
    per_key: dict[str, list] = defaultdict(lambda: [0, 0.0])
    for row in rows:
        totals = per_key[row[0]]
        totals[0] += 1
        totals[1] = max(totals[1], row[5])
    with transaction.atomic():
        organization_of = _acting_organizations(per_key)
        request_log_store(rows=rows, organization_of=organization_of)
        for key_id in organization_of:
            count, latest = per_key[key_id]
            latest_at = Value(datetime.fromtimestamp(latest, tz=UTC))
            # F() increments: concurrent flushes and the embedded path never lose each other's counts;
            # Greatest keeps last_used_at from moving backwards when batches arrive out of order.
            ApiKey.objects.filter(pk=key_id).update(
                usage_count=F("usage_count") + count,
                last_used_at=Greatest(Coalesce("last_used_at", latest_at), latest_at),
            )


def usage_flush() -> int:
    """Move buffered usage from Redis into the database; returns how many records were stored.

    Safe to run concurrently (a lock makes extra runs return 0) and after a crash (see module docstring).
    A no-op in embedded mode, where records are written directly.
    """
    client = redis_client()
    if client is None:
        return 0
    if not cache.add(FLUSH_LOCK, 1, FLUSH_LOCK_SECONDS):
        return 0
    stored = 0
    try:
        for _ in range(FLUSH_MAX_BATCHES):
            lines = client.lrange(BUFFER_KEY, 0, FLUSH_BATCH - 1)
            if not lines:
                break
            rows = []
            for line in lines:
                try:
                    rows.append(tuple(json.loads(line)))
                except ValueError:
                    logger.warning("Dropping a malformed usage line")
            _store(rows)
            # Only after the commit: a crash above leaves the batch in the list for the next run.
            client.ltrim(BUFFER_KEY, len(lines), -1)
            stored += len(rows)
    finally:
        cache.delete(FLUSH_LOCK)
    return stored
