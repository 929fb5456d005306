"""The service's status as partners may read it: `GET /api/v1/status` and the page at /api/docs/status.

Public, so it says only what a partner can act on: whether the API, its database, its cache and its task
queue answer (up or down, never a host, a URL or an error text), and each try-on engine this deployment
renders with, by name: `up`; `degraded` while its circuit is open and another renderer (the fallback) takes
its new items; `down` while its circuit is open and nothing takes its place, so its items wait. A renderer
that is not a hosted engine (local, http, eventbridge) has no circuit and reads `up`.

Worked out at most once per STATUS_CACHE_SECONDS for everyone (the shared cache), so polling it costs one
cache read: the checks behind it (a broker connection among them) are not for the public to run at will.
"""

import contextlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from api.timestamps import timestamp_text
from tryons.engines.circuit import circuits_open_until
from tryons.engines.settings import engine_settings
from tryons.qualities import QUALITY_NAMES
from tryons.renderers.registry import ENGINES

logger = logging.getLogger("garmax.tryons")

STATUS_CACHE_SECONDS = 10
_CACHE_KEY = "status:public"
UP, DEGRADED, DOWN = "up", "degraded", "down"
OPERATIONAL = "operational"
BROKER_TIMEOUT_SECONDS = 2


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    cache.set("status:probe", "1", 10)
    if cache.get("status:probe") != "1":
        raise RuntimeError("the cache did not return the value just written")


def _queue() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


# Without its database or cache no partner request is served (keys are checked in the cache); without its
# queue reads still are, and new work waits.
_COMPONENTS = (
    ("database", lambda: _database(), DOWN),
    ("cache", lambda: _cache(), DOWN),
    ("queue", lambda: _queue(), DEGRADED),
)


def _component(name, check) -> str:
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the type is for the operator's log
        logger.warning("status: %s check failed: %s", name, type(exc).__name__)
        return DOWN
    return UP


def _renderers() -> list[tuple[str, list[str], bool]]:
    """(renderer, the qualities it renders first-hand, whether it is the fallback), in settings order."""
    s = engine_settings()
    roles: dict[str, list[str]] = {}
    for quality in QUALITY_NAMES:
        roles.setdefault(s.by_quality.get(quality) or settings.TRYON_RENDERER, []).append(quality)
    if s.fallback:
        roles.setdefault(s.fallback, [])
    return [(name, qualities, name == s.fallback) for name, qualities in roles.items()]


def engine_states() -> list[dict]:
    """Each renderer this deployment uses, with its state (see the module docstring)."""
    renderers = _renderers()
    open_until = circuits_open_until(name for name, _, _ in renderers if name in ENGINES)
    fallback = engine_settings().fallback
    fallback_serves = bool(fallback) and fallback not in open_until
    states = []
    for name, qualities, is_fallback in renderers:
        state = UP
        if name in open_until:
            state = DEGRADED if fallback_serves and not is_fallback else DOWN
        states.append(
            {
                "name": name,
                "qualities": qualities,
                "fallback": is_fallback,
                "state": state,
                "circuitOpenUntil": timestamp_text(open_until[name]) if name in open_until else None,
            }
        )
    return states


def service_status() -> dict:
    """{status, checkedAt, components, engines}: operational, degraded or down, worked out at most once per
    STATUS_CACHE_SECONDS for every caller."""
    try:
        cached = cache.get(_CACHE_KEY)
    except Exception:  # noqa: BLE001 - the cache being down is one of the things this reports
        cached = None
    if cached is not None:
        return cached
    components = {"api": UP, **{name: _component(name, check) for name, check, _ in _COMPONENTS}}
    try:
        engines = engine_states() if components["database"] == UP else []
    except Exception as exc:  # noqa: BLE001 - reported as unknown engines, never a 500 on the status page
        logger.warning("status: engine states unreadable: %s", type(exc).__name__)
        engines = []
    impact = {impact for name, _, impact in _COMPONENTS if components[name] == DOWN}
    if DOWN in impact:
        status = DOWN
    elif impact or any(engine["state"] != UP for engine in engines):
        status = DEGRADED
    else:
        status = OPERATIONAL
    answer = {
        "status": status,
        "checkedAt": timestamp_text(timezone.now()),
        "components": components,
        "engines": engines,
    }
    # Without a cache every call checks again: slower, still right.
    with contextlib.suppress(Exception):
        cache.set(_CACHE_KEY, answer, STATUS_CACHE_SECONDS)
    return answer
