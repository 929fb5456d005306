"""The real URLconf plus comparison views that do the same work as the partner endpoints they face.

The partner variants of the benchmarks call the real `GET /api/v1/customers/{externalId}` and
`GET /api/v1/cart-tryons/{id}`. The views here do the same work (the same selector and serializer) and
differ only in how the caller is authenticated: not at all (stock DRF views), by a lookup and a bcrypt
check on every request, or by djangorestframework-api-key's `HasAPIKey` (the library a Django engineer
would pick; dev extra only).
"""

import bcrypt
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.permissions import HasAPIKey

from api.credentials import LIVE_KEY_PREFIX
from api.errors import InvalidApiKey
from apikeys.models import ApiKey
from apikeys.services import LOOKUP_LENGTH
from config import urls as service_urls
from customers.selectors import customer_detail
from customers.serializers import CustomerSerializer
from infrastructure.shared_cache import redis_hot_client
from tryons import services as tryon_services
from tryons.selectors import cart_session_get
from tryons.serializers import CartItemSerializer, CartTryOnCreateSerializer, CartTryOnSessionSerializer


class BareView(APIView):
    """A stock DRF view: no authentication, no throttling, the organization given in the query string."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request, external_id):
        customer = customer_detail(organization_id=request.query_params.get("org"), external_id=external_id)
        return Response(CustomerSerializer(customer).data)


_FLOOR_LUA = "return redis.call('INCR', KEYS[1])"
_floor_script = None


class BareRoundTripView(BareView):
    """The floor of the key path: the bare view plus exactly one Redis round trip (an atomic counter in Lua,
    on the hot path's held connection), the least any limit shared by every web process can cost."""

    def get(self, request, external_id):
        global _floor_script
        client = redis_hot_client()
        if _floor_script is None:
            _floor_script = client.register_script(_FLOOR_LUA)
        _floor_script(keys=["gx:bench:floor"], client=client)
        return super().get(request, external_id)


class BcryptEveryRequestView(APIView):
    """What verification costs without the cache: a lookup by prefix and a bcrypt check per request."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request, external_id):
        raw_key = request.headers.get("X-API-Key", "")
        key = ApiKey.objects.filter(key_prefix=raw_key[: len(LIVE_KEY_PREFIX) + LOOKUP_LENGTH]).first()
        if key is None or not bcrypt.checkpw(raw_key.encode(), key.key_hash.encode()):
            raise InvalidApiKey()
        customer = customer_detail(organization_id=key.organization_id, external_id=external_id)
        return Response(CustomerSerializer(customer).data)


class DrfApiKeyView(APIView):
    """djangorestframework-api-key's `HasAPIKey` in front of the same read (key in `X-API-Key`, see
    bench/apikeys_settings.py). The library only authenticates: a key carries no organization, so the
    organization comes from the query string as in the bare view, a tenancy lookup the peer is spared."""

    authentication_classes: list = []
    permission_classes = [HasAPIKey]

    def get(self, request, external_id):
        customer = customer_detail(organization_id=request.query_params.get("org"), external_id=external_id)
        return Response(CustomerSerializer(customer).data)


class BareCartSessionView(APIView):
    """A stock DRF view serializing a cart session (with its items) as the partner status poll does."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request, session_id):
        session = cart_session_get(organization_id=request.query_params.get("org"), session_id=session_id)
        return Response(CartTryOnSessionSerializer(session).data)


class BareCartCreateView(APIView):
    """A stock DRF view creating a cart session as the partner endpoint does (the same serializers and
    service: validate, price, charge, rows, outbox, enqueue on commit), with no authentication and the
    organization in the query string."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        organization_id = request.query_params.get("org")
        serializer = CartTryOnCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        session, created = tryon_services.cart_session_create(
            organization_id=organization_id,
            cart_id=data["cartId"],
            photo_key=data["customerPhotoS3Key"],
            items=[CartItemSerializer.to_garment(item) for item in data["cartItems"]],
            render_quality=data.get("renderQuality"),
            background_scene=data["backgroundScene"],
            metadata=data["metadata"],
        )
        if created:
            answer = CartTryOnSessionSerializer(session, context={"items": session.written_items}).data
        else:
            session = cart_session_get(organization_id=organization_id, session_id=session.id)
            answer = CartTryOnSessionSerializer(session).data
        return Response(answer)


# The service's own patterns follow unnested, so the partner path resolves as in production (an
# include() here would add a resolver level to every partner request that production does not have).
urlpatterns = [
    path("bench/bare/<str:external_id>", BareView.as_view()),
    path("bench/bare-redis/<str:external_id>", BareRoundTripView.as_view()),
    path("bench/bcrypt/<str:external_id>", BcryptEveryRequestView.as_view()),
    path("bench/drf-api-key/<str:external_id>", DrfApiKeyView.as_view()),
    path("bench/bare-cart/<str:session_id>", BareCartSessionView.as_view()),
    path("bench/bare-cart-create", BareCartCreateView.as_view()),
    *service_urls.urlpatterns,
]
handler400, handler403, handler404, handler500 = (
    service_urls.handler400,
    service_urls.handler403,
    service_urls.handler404,
    service_urls.handler500,
)
