"""Per-user rate limit of the JWT (management) API: API_USER_RATE_LIMIT requests per minute per signed-in
user, counted like a key's limit (apikeys/ratelimit.py: GCRA, one Redis round trip, shared by every web
process, atomic) in a bucket of its own, and refused the same way (429 RateLimitExceeded, Retry-After).

A user's requests are as heavy as a key's (a usage read, a key list), so they are bounded as keys are:
one signed-in script must not be able to take the API's workers for itself.
"""

from django.conf import settings
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt.authentication import JWTAuthentication

from api.errors import RateLimitExceeded
from apikeys.ratelimit import rate_limit_hit


def user_bucket(user_id) -> str:
    return f"user:{user_id}"


class UserRateLimit(BaseThrottle):
    """DRF throttle (REST_FRAMEWORK DEFAULT_THROTTLE_CLASSES): counts requests authenticated by a JWT,
    leaves every other caller alone (API keys have their own limit, anonymous requests are refused)."""

    def allow_request(self, request, view) -> bool:
        if not isinstance(getattr(request, "successful_authenticator", None), JWTAuthentication):
            return True
        limit = settings.API_USER_RATE_LIMIT
        decision = rate_limit_hit(key_id=user_bucket(request.user.pk), limit=limit)
        request.rate_limit = decision
        if not decision.allowed:
            raise RateLimitExceeded(
                f"Rate limit of {limit} requests per minute for this user exceeded.",
                details={"limit": limit, "limitedBy": "user", "retryAfter": decision.retry_after},
                headers={"Retry-After": str(decision.retry_after)},
            )
        return True
