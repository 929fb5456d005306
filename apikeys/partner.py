"""The base of every partner (`/api/v1`, X-API-Key) viewset: auth, scopes, rate limit, usage, idempotency.

Order on each request: refuse a method the route does not support (405, for every caller: it says
nothing about the key or the tenant, and a scope error would send a partner hunting for the wrong
fix), authenticate the key (401), count it against the key's limits per minute, hour and day and its
monthly quota, then against the key's limit for this operation if it has one (429 naming the limit and
the window hit), check the action's scope (403), run
the view. The rate limit comes before the scope check so refused requests
count too and carry the X-RateLimit-* headers like every other response to an authenticated key. Every
response to an authenticated key, errors included, is recorded for usage statistics.
"""

import time
from collections.abc import Callable

from rest_framework.exceptions import MethodNotAllowed
from rest_framework.renderers import JSONRenderer

from api.client_address import client_address
from api.errors import RateLimitExceeded
from api.idempotency import IdempotentPostMixin
from api.request_context import current_request_id
from api.routes import route_template
from apikeys.admission import ApiKeyPrincipal
from apikeys.authentication import ApiKeyAuthentication
from apikeys.operations import operation_name
from apikeys.permissions import RequiresScope
from apikeys.ratelimit import CONDITIONAL, MONTH, rate_limit_headers_set, rate_limit_hit, windows_hit

# Renderers keep no per-request state, so one instance serves every request of the process.
_JSON_RENDERER = JSONRenderer()
_ACCEPTS_JSON = frozenset({None, "", "*/*", "application/json"})

# Who is told of each answered partner request: usage registers its recorder in its AppConfig.ready (usage
# builds on keys, so keys hand the record over instead of importing it).
_request_recorders: dict[str, Callable[..., None]] = {}


def partner_request_recorder_register(name: str, recorder: Callable[..., None]) -> None:
    """Register (or replace, so a repeated ready() is harmless) the recorder called `name`: it is called
    with keyword arguments key_id, method, route, status_code, duration_ms, request_id, error_code and
    client_address after every response to an authenticated key, and must never raise."""
    _request_recorders[name] = recorder


class PartnerAPIMixin(IdempotentPostMixin):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [RequiresScope]
    required_scopes: dict[str, str] = {}
    # Names this viewset's operations (`cart-tryons:create`) for per-operation limits (apikeys/operations.py).
    operation_resource: str | None = None

    @property
    def organization_id(self) -> str:
        return self.request.auth.organization_id

    def perform_content_negotiation(self, request, force=False):
        """JSON for the Accept values partner clients send, without DRF's negotiation.

        DRF instantiates every renderer and parses the Accept header on each request to reach the same
        answer; anything else (another Accept, ?format=, a view with other renderers) still goes
        through it, so a 406 stays a 406.
        """
        renderers = self.renderer_classes
        if (
            len(renderers) == 1
            and renderers[0] is JSONRenderer
            and request.META.get("HTTP_ACCEPT") in _ACCEPTS_JSON
            and getattr(self, "format_kwarg", None) is None
            and "format=" not in request.META.get("QUERY_STRING", "")
        ):
            return _JSON_RENDERER, _JSON_RENDERER.media_type
        return super().perform_content_negotiation(request, force)

    def initialize_request(self, request, *args, **kwargs):
        self._started = time.perf_counter()
        self._principal = None
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        # What dispatch() would answer after authentication and scopes, answered before them.
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise MethodNotAllowed(request.method)
        # Read by authentication, which checks a conditional GET's stamp in admission's round trip.
        request._request.conditional_probe = self.conditional_probe(request)
        super().initial(request, *args, **kwargs)

    def conditional_probe(self, request):
        """The apikeys.admission.ConditionalProbe of a GET this view can answer 304 from a poll stamp, or
        None (the default: admission counts the request against the key's limits as any other)."""
        return None

    def check_permissions(self, request):
        principal = request.auth
        if isinstance(principal, ApiKeyPrincipal):
            self._principal = principal
            # Counted while authenticating (same Redis round trip); refused here, before the scope check.
            decision = getattr(request, "rate_limit", None)
            if decision is not None and decision.window == CONDITIONAL:
                # A current conditional GET: counted against its own ceiling only, answered 304 by the view.
                return super().check_permissions(request)
            if decision is None:
                decision = request.rate_limit = windows_hit(
                    key_prefix=principal.key_prefix, windows=principal.windows
                )
            if not decision.allowed:
                raise _rate_limit_exceeded(decision, limited_by="key")
            if principal.endpoint_limits:
                self._operation_limit_check(request, principal, decision)
        super().check_permissions(request)

    def _operation_limit_check(self, request, principal: ApiKeyPrincipal, decision) -> None:
        """The key's own limit for this operation, counted only once the key's overall limit admitted it.

        Its own bucket (the key prefix and the operation); the headers report whichever of the two limits
        leaves fewer requests, so a client pacing itself by the headers is never surprised by a 429.
        """
        operation = operation_name(
            self.operation_resource, getattr(self, "action", None) or request.method.lower()
        )
        limit = principal.endpoint_limit(operation) if operation else None
        if limit is None:
            return
        narrower = rate_limit_hit(key_id=f"{principal.key_prefix}:{operation}", limit=limit)
        if not narrower.allowed or narrower.remaining < decision.remaining:
            request.rate_limit = narrower
        if not narrower.allowed:
            raise _rate_limit_exceeded(narrower, limited_by=operation)

    def check_throttles(self, request):
        """Done in check_permissions, before the scope check (see the module docstring)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        rate_limit_headers_set(request, response)
        principal = getattr(self, "_principal", None)
        if principal is not None:
            match = request._request.resolver_match
            data = response.data if response.status_code >= 400 else None
            for record in _request_recorders.values():
                record(
                    key_id=principal.key_id,
                    method=request.method,
                    route=route_template(match.route) if match else request.path,
                    status_code=response.status_code,
                    duration_ms=(time.perf_counter() - self._started) * 1000,
                    request_id=current_request_id() or "",
                    error_code=data.get("error", "") if isinstance(data, dict) else "",
                    client_address=client_address(request._request),
                )
        return response


def _rate_limit_exceeded(decision, *, limited_by: str) -> RateLimitExceeded:
    scope = "" if limited_by == "key" else f" for {limited_by}"
    if decision.window == MONTH:
        message = f"Monthly quota of {decision.limit} requests used up; it renews at the start of next month."
    else:
        message = f"Rate limit of {decision.limit} requests per {decision.window}{scope} exceeded."
    return RateLimitExceeded(
        message,
        details={
            "limit": decision.limit,
            "limitedBy": limited_by,
            "window": decision.window,
            "retryAfter": decision.retry_after,
        },
        headers={"Retry-After": str(decision.retry_after)},
    )
