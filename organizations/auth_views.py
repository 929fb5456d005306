"""JWT for staff and organization members: `POST /api/auth/token` and `/api/auth/token/refresh`.

Both are limited per client address (the same GCRA limiter as API keys) against password guessing and
token stuffing. When Redis is unreachable they answer 503, like partner authentication: a limit that no
process can count would leave the password endpoint open to guessing at full speed.
"""

from drf_spectacular.utils import extend_schema
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from apikeys.ratelimit import rate_limit_headers_set, rate_limit_hit
from config.errors import RateLimitExceeded

# Password guessing: this many token attempts per client address per minute (bursts up to it).
TOKEN_ATTEMPTS_PER_MINUTE = 20


def _client_address(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is chosen by the caller, who could then pick a fresh bucket per try.
    return request.META.get("REMOTE_ADDR") or "unknown"


class _ThrottledByAddress:
    throttle_namespace = "token"

    def check_throttles(self, request):
        decision = rate_limit_hit(
            key_id=f"{self.throttle_namespace}:{_client_address(request)}", limit=TOKEN_ATTEMPTS_PER_MINUTE
        )
        request.rate_limit = decision
        if not decision.allowed:
            raise RateLimitExceeded(
                "Too many authentication attempts from this address.",
                details={"limit": decision.limit, "retryAfter": decision.retry_after},
                headers={"Retry-After": str(decision.retry_after)},
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        rate_limit_headers_set(request, response)
        return response


@extend_schema(tags=["Authentication"], summary="Obtain a JWT pair (username and password)")
class TokenView(_ThrottledByAddress, TokenObtainPairView):
    throttle_namespace = "token"


@extend_schema(tags=["Authentication"], summary="Refresh an access token")
class TokenRefreshThrottledView(_ThrottledByAddress, TokenRefreshView):
    throttle_namespace = "token-refresh"
