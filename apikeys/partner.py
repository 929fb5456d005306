"""The base every partner (`/api/v1`, X-API-Key) viewset builds on: auth, scopes, rate limit, idempotency."""

from apikeys.authentication import ApiKeyAuthentication
from apikeys.permissions import RequiresScope
from apikeys.ratelimit import rate_limit_hit
from config.errors import RateLimitExceeded
from config.idempotency import IdempotentPostMixin


class PartnerAPIMixin(IdempotentPostMixin):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [RequiresScope]
    required_scopes: dict[str, str] = {}

    @property
    def organization_id(self) -> str:
        return self.request.auth.organization_id

    def check_throttles(self, request):
        principal = request.auth
        if principal is None or not hasattr(principal, "key_id"):
            return
        decision = rate_limit_hit(key_id=principal.key_id, limit=principal.rate_limit)
        request.rate_limit = decision
        if not decision.allowed:
            raise RateLimitExceeded(
                f"Rate limit of {decision.limit} requests per minute exceeded.",
                details={"limit": decision.limit, "retryAfter": decision.retry_after},
                headers={"Retry-After": str(decision.retry_after)},
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        decision = getattr(request, "rate_limit", None)
        if decision is not None:
            for header, value in decision.headers().items():
                response[header] = value
        return response
