from rest_framework.authentication import BaseAuthentication

from apikeys.services import apikey_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: gx_live_…` — the partner's credential on every /api/v1 endpoint."""

    header = "X-API-Key"

    def authenticate(self, request):
        raw_key = request.META.get("HTTP_X_API_KEY")
        if raw_key is None:
            return None  # the permission check turns this into 401 InvalidApiKey "Missing X-API-Key"
        # REMOTE_ADDR, not X-Forwarded-For: a header the caller controls must not pick its own throttle
        # bucket. Behind a proxy, the proxy (or gunicorn's forwarded_allow_ips) must set REMOTE_ADDR.
        principal = apikey_authenticate(raw_key.strip(), client_address=request.META.get("REMOTE_ADDR"))
        return principal, principal

    def authenticate_header(self, request):
        return self.header
