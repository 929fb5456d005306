import functools
import logging

from rest_framework.authentication import BaseAuthentication

from api.client_address import client_address
from api.errors import InvalidApiKey
from api.request_context import set_principal
from apikeys.admission import apikey_admit

logger = logging.getLogger("garmax.apikeys")


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: gx_live_…` — the partner's credential on every /api/v1 endpoint.

    Authenticating also counts the request against the key's rate limit (one Redis round trip for both,
    see apikey_admit); the decision is left on `request.rate_limit` for PartnerAPIMixin, which refuses
    the request (429) after authentication and adds the X-RateLimit-* headers to the response.
    """

    header = "X-API-Key"
    credential_error = "InvalidApiKey"  # api.errors renders a missing or refused key as this (401)

    def authenticate(self, request):
        raw_key = request.META.get("HTTP_X_API_KEY")
        if raw_key is None:
            return None  # the permission check turns this into 401 InvalidApiKey "Missing X-API-Key"
        try:
            principal, request.rate_limit = apikey_admit(
                raw_key.strip(),
                address=functools.partial(client_address, request),
                conditional=getattr(request._request, "conditional_probe", None),
            )
        except InvalidApiKey as exc:
            # The address is worked out only here, off the hot path: it is for operators tracing a
            # client that keeps sending a stale key. Never the key itself.
            logger.info("API key refused for %s: %s", client_address(request), exc.message)
            raise
        set_principal(organization_id=principal.organization_id, key_id=principal.key_id)
        # The version to answer in without a Garmax-Version header (api/versions.py, at the request's edge).
        request._request.api_version_pinned = principal.api_version
        return principal, principal

    def authenticate_header(self, request):
        return self.header
