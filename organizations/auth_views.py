"""JWT for staff and organization members: `POST /api/auth/token` and `/api/auth/token/refresh`."""

from drf_spectacular.utils import extend_schema
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from apikeys.ratelimit import rate_limit_hit
from config.errors import RateLimitExceeded

# Password guessing: this many token attempts per client address per minute.
TOKEN_ATTEMPTS_PER_MINUTE = 20


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


class _ThrottledByAddress:
    def check_throttles(self, request):
        decision = rate_limit_hit(key_id=f"auth:{_client_address(request)}", limit=TOKEN_ATTEMPTS_PER_MINUTE)
        if not decision.allowed:
            raise RateLimitExceeded(
                "Too many authentication attempts from this address.",
                details={"retryAfter": decision.retry_after},
                headers={"Retry-After": str(decision.retry_after)},
            )


@extend_schema(tags=["Authentication"], summary="Obtain a JWT pair (username and password)")
class TokenView(_ThrottledByAddress, TokenObtainPairView):
    pass


@extend_schema(tags=["Authentication"], summary="Refresh an access token")
class TokenRefreshThrottledView(_ThrottledByAddress, TokenRefreshView):
    pass
