import base64
import binascii
import json

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.choice_parameters import choice_parameter
from api.errors import PayloadTooLarge, ResourceNotFound, Unauthorized, ValidationError
from apikeys import scopes
from apikeys.partner import PartnerAPIMixin
from tryons import selectors
from tryons.controls import CartControls
from tryons.engines.settings import asynchronous_renderer_configured
from tryons.models import CartTryOnSession, TryOn
from tryons.poll_stamps import session_ref, tryon_ref
from tryons.polls import IF_NONE_MATCH, POLL_DESCRIPTION, poll_answer, poll_probe
from tryons.pricing import volume_discounts_text
from tryons.qualities import multipliers_text
from tryons.renderers.registry import CALLBACK_RENDERERS
from tryons.serializers.callback import RenderCallbackResponseSerializer, RenderCallbackSerializer
from tryons.serializers.creation import CartItemSerializer, CartTryOnCreateSerializer, TryOnCreateSerializer
from tryons.serializers.results import CartTryOnSessionSerializer, TryOnSerializer
from tryons.services import callback, cancellation, creation
from tryons.signing import HEADER, callback_signature_parse, callback_signature_valid


@extend_schema(tags=["Cart try-ons"])
class CartTryOnViewSet(
    PartnerAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Cart try-on sessions: one customer photo, up to 20 garments, paid up front and rendered in order."""

    operation_resource = "cart-tryons"

    serializer_class = CartTryOnSessionSerializer
    queryset = CartTryOnSession.objects.none()
    lookup_value_regex = r"[^/]+"
    required_scopes = {
        "list": scopes.TRYON_READ,
        "retrieve": scopes.TRYON_READ,
        "create": scopes.TRYON_CREATE,
        "cancel": scopes.TRYON_CREATE,
    }

    def get_queryset(self):
        return selectors.cart_session_list(
            organization_id=self.organization_id,
            cart_id=self.request.query_params.get("cartId") or None,
            status=choice_parameter(self.request, "status", CartTryOnSession.Status.values),
        )

    def get_object(self):
        return selectors.cart_session_get(organization_id=self.organization_id, session_id=self.kwargs["pk"])

    def conditional_probe(self, request):
        return poll_probe(request, session_ref(self.kwargs["pk"])) if self.action == "retrieve" else None

    @extend_schema(
        summary="Create a cart try-on session",
        description=(
            "Charges the cart's credits and queues rendering. Price per item: 1 × quality multiplier "
            f"({multipliers_text()}) × (1 − volume discount: {volume_discounts_text()}); "
            "`quantity` does not multiply. Repeating a create with the same `cartId` and identical content "
            "returns the existing session and charges nothing. Both answer 200, never 201: the PHP client of "
            "the partner API reference throws on anything but 200; compare `createdAt` to tell a replay "
            "apart."
        ),
        request=CartTryOnCreateSerializer,
        responses={200: CartTryOnSessionSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = CartTryOnCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        session, created = creation.cart_session_create(
            organization_id=self.organization_id,
            cart_id=data["cartId"],
            photo_key=data["customerPhotoS3Key"],
            items=[CartItemSerializer.to_garment(item) for item in data["cartItems"]],
            render_quality=data.get("renderQuality"),
            background_scene=data["backgroundScene"],
            metadata=data["metadata"],
            looks=data.get("looks"),
            render_items=data["renderItems"],
            controls=CartControls(
                garment_photo_type=data.get("garmentPhotoType", ""),
                num_samples=data.get("numSamples", 1),
                seed=data.get("seed"),
                output_format=data.get("outputFormat", ""),
                reuse=data.get("reuse", True),
            ),
        )
        if created:
            answer = CartTryOnSessionSerializer(session, context={"items": session.written_items}).data
        else:  # a replay answers with the session as it is now
            session = selectors.cart_session_get(organization_id=self.organization_id, session_id=session.id)
            answer = CartTryOnSessionSerializer(session).data
        return Response(answer, status=status.HTTP_200_OK)

    @extend_schema(
        summary="List cart try-on sessions",
        parameters=[
            OpenApiParameter("cartId", str, description="Only sessions of this cart."),
            OpenApiParameter("status", str, enum=CartTryOnSession.Status.values),
        ],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Get a cart try-on session with its items' status and results",
        description=POLL_DESCRIPTION,
        parameters=[IF_NONE_MATCH],
        responses={200: CartTryOnSessionSerializer, 304: None},
    )
    def retrieve(self, request, *args, **kwargs):
        return poll_answer(
            request,
            ref=session_ref(self.kwargs["pk"]),
            organization_id=self.organization_id,
            load=self.get_object,
            build=lambda session: CartTryOnSessionSerializer(session).data,
        )

    @extend_schema(
        summary="Cancel a cart try-on session",
        description=(
            "Queued: every item is refunded. Processing: every item not rendered yet is cancelled and "
            "refunded, an item rendering at that moment included (its result, if one comes, is dropped); "
            "items already rendered stay. Cancelling again returns the cancelled session; a finished "
            "session is a 409."
        ),
        request=None,
        responses={200: CartTryOnSessionSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        cancellation.cart_session_cancel(organization_id=self.organization_id, session_id=pk)
        return Response(CartTryOnSessionSerializer(self.get_object()).data)


@extend_schema(tags=["Try-ons"])
class TryOnViewSet(
    PartnerAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Single try-ons: one garment on one customer photo, priced 1 × quality multiplier."""

    operation_resource = "tryons"

    serializer_class = TryOnSerializer
    queryset = TryOn.objects.none()
    lookup_value_regex = r"[^/]+"
    required_scopes = {
        "list": scopes.TRYON_READ,
        "retrieve": scopes.TRYON_READ,
        "create": scopes.TRYON_CREATE,
    }

    def get_queryset(self):
        return selectors.tryon_list(
            organization_id=self.organization_id,
            status=choice_parameter(self.request, "status", TryOn.Status.values),
        )

    def get_object(self):
        return selectors.tryon_get(organization_id=self.organization_id, tryon_id=self.kwargs["pk"])

    def conditional_probe(self, request):
        return poll_probe(request, tryon_ref(self.kwargs["pk"])) if self.action == "retrieve" else None

    @extend_schema(
        summary="Create a single try-on", request=TryOnCreateSerializer, responses={201: TryOnSerializer}
    )
    def create(self, request, *args, **kwargs):
        serializer = TryOnCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tryon = creation.tryon_create(
            organization_id=self.organization_id,
            photo_key=data["customerPhotoS3Key"],
            garment=serializer.to_garment(data),
            render_quality=data.get("renderQuality"),
            background_scene=data["backgroundScene"],
            metadata=data["metadata"],
        )
        return Response(TryOnSerializer(tryon).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="List single try-ons",
        parameters=[OpenApiParameter("status", str, enum=TryOn.Status.values)],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Get a try-on (single, or a cart item by its tryonId)",
        description=POLL_DESCRIPTION,
        parameters=[IF_NONE_MATCH],
        responses={200: TryOnSerializer, 304: None},
    )
    def retrieve(self, request, *args, **kwargs):
        return poll_answer(
            request,
            ref=tryon_ref(self.kwargs["pk"]),
            organization_id=self.organization_id,
            load=self.get_object,
            build=lambda tryon: TryOnSerializer(tryon).data,
        )


# Internal (the renderer service's, HMAC-signed): out of the partner document and the SDKs generated from it.
@extend_schema(exclude=True)
class RenderCallbackView(APIView):
    """Where an asynchronous renderer reports a result. HMAC-signed, not an API-key endpoint."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Report a render result (renderer service only)",
        description=(
            f"`{HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>` keyed by "
            "TRYON_CALLBACK_SECRET; at most 5 minutes old. Bodies up to TRYON_CALLBACK_MAX_BYTES. "
            f"404 unless an asynchronous renderer ({', '.join(CALLBACK_RENDERERS)}) is configured. "
            "See tryons/renderers/eventbridge.py."
        ),
        request=RenderCallbackSerializer,
        responses={200: RenderCallbackResponseSerializer},
        parameters=[OpenApiParameter(HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
        auth=[],
    )
    def post(self, request):
        # Nothing is read before it is needed: the endpoint exists only for an asynchronous renderer, the
        # signature header must be well formed and fresh, and the declared size within the cap, all before
        # the body (which only then can be checked against the signature) is read.
        if not asynchronous_renderer_configured():
            raise ResourceNotFound()
        header = request.headers.get(HEADER, "")
        if callback_signature_parse(header) is None:
            raise Unauthorized("Missing, invalid or expired callback signature.")
        limit = settings.TRYON_CALLBACK_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise PayloadTooLarge(f"Callback bodies are limited to {limit} bytes.")
        # The raw stream, not request.body: the signature covers the exact bytes, and results exceed the
        # 2 MB cap Django puts on request.body.
        stream = request.stream
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"Callback bodies are limited to {limit} bytes.")
        if not callback_signature_valid(secret=settings.TRYON_CALLBACK_SECRET, body=body, header=header):
            raise Unauthorized("Missing, invalid or expired callback signature.")
        try:
            payload = json.loads(body)
        except ValueError:
            raise ValidationError(details={"body": ["Must be JSON."]}) from None
        serializer = RenderCallbackSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        image = None
        if data["status"] == "completed":
            try:
                image = base64.b64decode(data.get("image", ""), validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError(details={"image": ["Must be base64."]}) from None
        applied = callback.tryon_render_callback(
            tryon_id=data["tryonId"],
            job_id=data["jobId"],
            succeeded=data["status"] == "completed",
            image=image,
            error=data["error"],
        )
        return Response({"received": True, "applied": applied})
