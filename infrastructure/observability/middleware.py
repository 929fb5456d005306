"""One place that sees every request end: counts it, times it and, in JSON log mode, queues its access line
(infrastructure/observability/access_log.py).

Runs right inside RequestIdMiddleware, so the line carries the request id, and reads the caller the API key
authentication left in api.request_context (organization and key ids, never the key). Labels are the
route template (`/api/v1/customers/{externalId}`, never the path with its values), the method from a fixed
set, the status code and the authentication outcome.
"""

import logging
import time

from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject, empty

from api.request_context import current_principal
from api.routes import request_route
from config.logging_settings import ACCESS_LOGGER
from infrastructure.observability import metrics
from infrastructure.observability.access_log import access_line_record

access_logger = logging.getLogger(ACCESS_LOGGER)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Label children are looked up once per combination: `.labels()` costs a lock and a dict build per call.
_request_counters: dict[tuple[str, str, str, str], object] = {}
_duration_histograms: dict[tuple[str, str], object] = {}


def _auth_outcome(request, status: int) -> str:
    """api_key, jwt (a Bearer token), session (the admin's cookie), refused (401) or none."""
    if current_principal() is not None:
        return "api_key"
    if status == 401:
        return "refused"
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        # Never load a session just to label a metric: an unevaluated lazy user was not needed.
        user = None if user._wrapped is empty else user._wrapped
    if user is None or isinstance(user, AnonymousUser) or not getattr(user, "is_authenticated", False):
        return "none"
    return "jwt" if request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer ") else "session"


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        route = request_route(request)
        method = request.method if request.method in _METHODS else "other"
        status = response.status_code
        auth = _auth_outcome(request, status)
        counter_key = (route, method, str(status), auth)
        counter = _request_counters.get(counter_key)
        if counter is None:
            counter = _request_counters[counter_key] = metrics.HTTP_REQUESTS.labels(*counter_key)
        counter.inc()
        histogram = _duration_histograms.get((route, method))
        if histogram is None:
            histogram = _duration_histograms[(route, method)] = metrics.HTTP_REQUEST_DURATION.labels(
                route, method
            )
        histogram.observe(elapsed)
        if status == 429:
            metrics.RATE_LIMITED.labels(route=route).inc()
        if access_logger.isEnabledFor(logging.INFO):  # LOG_FORMAT=json (infrastructure.logging)
            principal = current_principal()
            access_line_record(
                request_id=getattr(request, "request_id", None),
                organization_id=principal[0] if principal else None,
                key_id=principal[1] if principal else None,
                route=route,
                method=method,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                auth=auth,
            )
        return response
