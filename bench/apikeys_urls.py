"""Three views that read the same row and differ only in how the caller is authenticated."""

import bcrypt
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.models import ApiKey
from apikeys.partner import PartnerAPIMixin
from apikeys.services import KEY_PREFIX, LOOKUP_LENGTH
from config.errors import InvalidApiKey
from organizations.models import Organization


def _one_row(organization_id):
    return Organization.objects.filter(pk=organization_id).values("id", "name").first()


class BareView(APIView):
    """A stock DRF view: no authentication, no throttling."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(_one_row(request.query_params.get("org")))


class PartnerView(PartnerAPIMixin, APIView):
    """Our hot path: key auth (cached), scope check, GCRA rate limit, usage recording."""

    required_scopes = {"get": "customers:read"}

    def get(self, request):
        return Response(_one_row(self.organization_id))


class BcryptEveryRequestView(APIView):
    """What verification costs without the cache: a lookup by prefix and a bcrypt check per request."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        raw_key = request.headers.get("X-API-Key", "")
        key = ApiKey.objects.filter(key_prefix=raw_key[: len(KEY_PREFIX) + LOOKUP_LENGTH]).first()
        if key is None or not bcrypt.checkpw(raw_key.encode(), key.key_hash.encode()):
            raise InvalidApiKey()
        return Response(_one_row(key.organization_id))


urlpatterns = [
    path("bench/bare", BareView.as_view()),
    path("bench/partner", PartnerView.as_view()),
    path("bench/bcrypt", BcryptEveryRequestView.as_view()),
]
