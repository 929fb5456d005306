"""The real URLconf plus two comparison views that read the same customer row as the partner endpoint.

The partner variant of the benchmark calls the real `GET /api/v1/customers/{externalId}`. The two views
here do the same work (the same selector and serializer) and differ only in how the caller is
authenticated: not at all (a stock DRF view), or by a lookup and a bcrypt check on every request.
"""

import bcrypt
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.models import ApiKey
from apikeys.services import KEY_PREFIX, LOOKUP_LENGTH
from config import urls as service_urls
from config.errors import InvalidApiKey
from customers.selectors import customer_detail
from customers.serializers import CustomerSerializer


class BareView(APIView):
    """A stock DRF view: no authentication, no throttling, the organization given in the query string."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request, external_id):
        customer = customer_detail(organization_id=request.query_params.get("org"), external_id=external_id)
        return Response(CustomerSerializer(customer).data)


class BcryptEveryRequestView(APIView):
    """What verification costs without the cache: a lookup by prefix and a bcrypt check per request."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request, external_id):
        raw_key = request.headers.get("X-API-Key", "")
        key = ApiKey.objects.filter(key_prefix=raw_key[: len(KEY_PREFIX) + LOOKUP_LENGTH]).first()
        if key is None or not bcrypt.checkpw(raw_key.encode(), key.key_hash.encode()):
            raise InvalidApiKey()
        customer = customer_detail(organization_id=key.organization_id, external_id=external_id)
        return Response(CustomerSerializer(customer).data)


# The service's own patterns follow unnested, so the partner path resolves as in production (an
# include() here would add a resolver level to every partner request that production does not have).
urlpatterns = [
    path("bench/bare/<str:external_id>", BareView.as_view()),
    path("bench/bcrypt/<str:external_id>", BcryptEveryRequestView.as_view()),
    *service_urls.urlpatterns,
]
handler400, handler403, handler404, handler500 = (
    service_urls.handler400,
    service_urls.handler403,
    service_urls.handler404,
    service_urls.handler500,
)
