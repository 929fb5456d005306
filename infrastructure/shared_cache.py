"""The shared cache behind API-key verification, rate limits and usage buffering, and what happens without it.

In production the default cache is Redis; the rate limiter and the usage buffer talk to the same Redis
directly (a Lua script, a list), through the cache's own connection pool. In embedded mode the cache is
Django's local-memory cache and both fall back to in-process equivalents (`redis_client()` is None).

When Redis is unreachable, partner authentication and rate limiting fail closed: the request is answered
503 ServiceUnavailable (seed error format, `Retry-After: 5`) and one warning is logged, never a 500 with a
traceback. Failing open is not safe here: Redis holds the revocation tombstones, so without it a revoked
key or a suspended organization's key would pass; falling back to bcrypt on every request would let the
partner traffic itself (~30 bcrypt checks/s per machine) take the web tier down; and a limit no process can
count is no limit. Redis is also the Celery broker, so most partner writes could not be queued anyway.
Usage recording is the exception: it happens after the work is done, so a failure there is logged and the
response goes out unchanged.
"""

import contextlib
import functools
import logging
import os

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from api.errors import ServiceUnavailable

logger = logging.getLogger("garmax.apikeys")

RETRY_AFTER_SECONDS = 5


def shared_cache_backend() -> RedisCache | None:
    """The default cache when it is shared by every process (Redis), else None (embedded: local memory).

    The one "is there a shared cache" check: the hot path, the usage buffer and the webhook wake-up
    marker all ask it, so they agree with the cache that is actually configured.
    """
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def redis_client():
    """A client on the default cache's Redis connection pool, or None when the cache is not Redis.

    Memoized on the cache backend (one per thread, as Django makes them): building a redis.Redis costs
    more than the round trip it is used for (~250 response callbacks), and Django's cache builds one per
    operation, which is why the hot path below talks to Redis directly.
    """
    backend = shared_cache_backend()
    if backend is None:
        return None
    client = getattr(backend, "_garmax_client", None)
    if client is None:
        client = backend._cache.get_client(write=True)
        backend._garmax_client = client
    return client


def redis_hot_client():
    """Like redis_client(), but keeping one connection for its thread, for the partner request path.

    A pooled client checks a connection out of the pool and back in (with a readiness poll) around every
    command: a third of the CPU of the admission round trip that every partner request makes. This
    client holds its connection (redis-py's single_connection_client, on a one-connection pool of its
    own with the cache's settings). Without the checkout's poll, a connection Redis dropped (restart,
    timeout, CLIENT KILL) is found dead by the next command instead, so that command is retried once on
    a new connection: a request can then be counted twice against its rate limit, if Redis ran it
    before the connection broke, never refused for it. Rebuilt in a forked child, which must never
    share its parent's socket. Connects on first use: raises RedisError when Redis is unreachable.
    """
    backend = shared_cache_backend()
    if backend is None:
        return None
    client = getattr(backend, "_garmax_hot_client", None)
    if client is None or backend._garmax_hot_client_pid != os.getpid():
        shared = redis_client().connection_pool
        pool = redis.ConnectionPool(
            connection_class=shared.connection_class,
            **{
                **shared.connection_kwargs,
                "retry_on_error": [redis.ConnectionError],
                "retry": Retry(NoBackoff(), 1),
            },
        )
        client = redis.Redis(connection_pool=pool, single_connection_client=True)
        backend._garmax_hot_client, backend._garmax_hot_client_pid = client, os.getpid()
    return client


# A small string key-value store for hot-path entries (verified keys, tombstones): raw Redis commands in
# production, Django's local cache in embedded mode. Plain strings, not pickles or JSON: the partner
# admission script (apikeys/admission.py) reads them inside Redis, and decoding them costs nothing.


def shared_get_many(keys: list[str]) -> dict[str, str]:
    client = redis_client()
    if client is None:
        return caches["default"].get_many(keys)
    return {key: value.decode() for key, value in zip(keys, client.mget(keys), strict=True) if value}


def shared_set_many(values: dict[str, str], timeout: int | None) -> None:
    if not values:
        return
    client = redis_client()
    if client is None:
        caches["default"].set_many(values, timeout=timeout)
        return
    with client.pipeline(transaction=False) as pipe:
        for key, value in values.items():
            pipe.set(key, value, ex=timeout)
        pipe.execute()


def shared_delete_many(keys: list[str]) -> None:
    if not keys:
        return
    client = redis_client()
    if client is None:
        caches["default"].delete_many(keys)
    else:
        client.delete(*keys)


# Short-lived counters (an organization's queued items, for estimates): a number that expires, to which
# later events add until it does. An addition to a counter that has expired is dropped, so a counter never
# outlives its timeout and the next reader counts afresh.
_ADD_IF_PRESENT = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end"
)


def shared_counters_get(keys: list[str]) -> list[int | None]:
    """The counters' values in the order of `keys`; None for one not set (or expired)."""
    found = shared_get_many(keys)
    return [None if found.get(key) is None else int(found[key]) for key in keys]


def shared_counter_start(key: str, value: int, timeout: int) -> None:
    """Set the counter unless it is set already (a concurrent reader's count and additions win)."""
    client = redis_client()
    if client is None:
        caches["default"].add(key, value, timeout=timeout)
    else:
        client.set(key, value, ex=timeout, nx=True)


def shared_counter_add(key: str, amount: int) -> None:
    client = redis_client()
    if client is None:
        with contextlib.suppress(ValueError):  # not set: nothing to add to
            caches["default"].incr(key, amount)
    else:
        client.eval(_ADD_IF_PRESENT, 1, key, amount)


def requires_shared_cache(function):
    """Turn an unreachable Redis into 503 ServiceUnavailable instead of an unhandled error."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except RedisError as exc:
            logger.warning("Shared cache unavailable in %s: %s", function.__name__, type(exc).__name__)
            raise ServiceUnavailable(
                "Authentication is temporarily unavailable. Retry shortly.",
                details={"retryAfter": RETRY_AFTER_SECONDS},
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None

    return wrapper
