from rest_framework.authentication import BaseAuthentication

from apikeys.services import apikey_admit


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: gx_live_…` — the partner's credential on every /api/v1 endpoint.

    Authenticating also counts the request against the key's rate limit (one Redis round trip for both,
    see apikey_admit); the decision is left on `request.rate_limit` for PartnerAPIMixin, which refuses
    the request (429) after authentication and adds the X-RateLimit-* headers to the response.
    """

    header = "X-API-Key"

    def authenticate(self, request):
        raw_key = request.META.get("HTTP_X_API_KEY")
        if raw_key is None:
            return None  # the permission check turns this into 401 InvalidApiKey "Missing X-API-Key"
        # REMOTE_ADDR, not X-Forwarded-For: a header the caller controls must not pick its own throttle
        # bucket. Behind a proxy, the proxy (or gunicorn's forwarded_allow_ips) must set REMOTE_ADDR.
        principal, request.rate_limit = apikey_admit(
            raw_key.strip(), client_address=request.META.get("REMOTE_ADDR")
        )
        return principal, principal

    def authenticate_header(self, request):
        return self.header
