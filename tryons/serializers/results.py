"""What a partner reads back: a cart session with its items, a single try-on (REST answers, and the fields the
webhook event data in tryons.serializers.events shares)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from organizations.serializers import CreditsField
from tryons import pricing
from tryons.models import CartTryOnSession, Look, TryOn
from tryons.representation import result_url, scene_applied, tryon_error
from tryons.scenes import SCENE_NAMES


class BlankAsNullCharField(serializers.CharField):
    """A text the partner did not give reads as null, in REST answers and webhook events alike."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value or None


# Format values as the declared fields do, for the written-out representations below.
_CREDITS = CreditsField()
_TIMESTAMP = serializers.DateTimeField()


def _credits(value: Decimal | None) -> int | float | None:
    return None if value is None else _CREDITS.to_representation(value)


def _timestamp(value) -> str | None:
    return None if value is None else _TIMESTAMP.to_representation(value)


# null until an item fails; then why, in a form partners can branch on (`code`) and show (`message`).
_ERROR_SCHEMA = {
    "type": "object",
    "nullable": True,
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


class _ResultMixin(serializers.Serializer):
    resultUrl = serializers.SerializerMethodField(help_text="Expiring signed URL of the rendered image.")
    backgroundSceneApplied = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    engine = serializers.SerializerMethodField(
        help_text="The renderer that rendered (or is rendering) it: local, http, eventbridge, fashn, fal or "
        "replicate; null before rendering starts."
    )
    renderMs = serializers.IntegerField(
        source="render_ms",
        allow_null=True,
        help_text="Milliseconds from handing the item to its renderer to its result (a hosted engine's queue "
        "time included); null until completed.",
    )

    @extend_schema_field(
        {
            "type": "string",
            "enum": [*SCENE_NAMES, None],
            "nullable": True,
            "description": "The background scene the result shows: the one asked for where the renderer "
            "places scenes, else the photo's own (original); null until completed.",
        }
    )
    def get_backgroundSceneApplied(self, tryon: TryOn) -> str | None:
        return scene_applied(tryon)

    @extend_schema_field({"type": "string", "nullable": True, "example": "fashn"})
    def get_engine(self, tryon: TryOn) -> str | None:
        return tryon.renderer or None

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_resultUrl(self, tryon: TryOn) -> str | None:
        return result_url(tryon)

    @extend_schema_field(_ERROR_SCHEMA)
    def get_error(self, tryon: TryOn):
        return tryon_error(tryon)


class CartItemResultSerializer(_ResultMixin, serializers.ModelSerializer):
    """One cart item, the same in `cartItems` (REST) and in a cart event's `results` (webhooks).

    The declared fields are the schema; `to_representation` writes the same values out directly: DRF's
    walk over 15 fields for each of 20 items was most of the status poll's and the cart create's
    serialization (tests/tryons/test_serializers.py checks the two agree).
    """

    tryonId = serializers.CharField(source="id")
    productId = serializers.CharField(source="product_id")
    variantId = BlankAsNullCharField(source="variant_id")
    imageUrl = serializers.URLField(source="image_url")
    creditsCharged = CreditsField(source="credits")
    creditsRefunded = CreditsField(source="credits_refunded")
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)

    class Meta:
        model = TryOn
        fields = [
            "tryonId",
            "productId",
            "variantId",
            "name",
            "imageUrl",
            "category",
            "quantity",
            "status",
            "resultUrl",
            "error",
            "engine",
            "renderMs",
            "backgroundSceneApplied",
            "creditsCharged",
            "creditsRefunded",
            "completedAt",
        ]
        read_only_fields = fields

    def to_representation(self, tryon: TryOn) -> dict:
        return {
            "tryonId": tryon.id,
            "productId": tryon.product_id,
            "variantId": tryon.variant_id or None,
            "name": tryon.name,
            "imageUrl": tryon.image_url,
            "category": tryon.category,
            "quantity": tryon.quantity,
            "status": str(tryon.status),
            "resultUrl": result_url(tryon),
            "error": tryon_error(tryon),
            "engine": tryon.renderer or None,
            "renderMs": tryon.render_ms,
            "backgroundSceneApplied": scene_applied(tryon),
            "creditsCharged": _credits(tryon.credits),
            "creditsRefunded": _credits(tryon.credits_refunded),
            "completedAt": _timestamp(tryon.completed_at),
        }


class LookGarmentSerializer(serializers.Serializer):
    productId = serializers.CharField()
    variantId = BlankAsNullCharField()


class LookResultSerializer(serializers.ModelSerializer):
    """One look of a cart: its garments in the order they were put on, and its image once rendered."""

    lookId = serializers.CharField(source="look_id")
    items = LookGarmentSerializer(many=True, help_text="Its garments, in the order they are put on.")
    resultUrl = serializers.CharField(allow_null=True, help_text="Expiring signed URL of the look's image.")
    creditsCharged = CreditsField(source="credits")
    creditsRefunded = CreditsField(source="credits_refunded")
    error = serializers.JSONField(allow_null=True)

    class Meta:
        model = Look
        fields = ["lookId", "items", "status", "resultUrl", "creditsCharged", "creditsRefunded", "error"]
        read_only_fields = fields

    @staticmethod
    def write(look: Look, garments: dict[int, tuple[str, str]]) -> dict:
        return {
            "lookId": look.look_id,
            "items": [
                {"productId": garments[at][0], "variantId": garments[at][1] or None}
                for at in look.item_positions
            ],
            "status": str(look.status),
            "resultUrl": result_url(look),
            "creditsCharged": _credits(look.credits),
            "creditsRefunded": _credits(look.credits_refunded),
            "error": tryon_error(look),
        }


class PricingSerializer(serializers.Serializer):
    """How `creditsRequired` was reached: every render costs `perRender`."""

    itemRenders = serializers.IntegerField(help_text="Renders of items alone (0 with renderItems: false).")
    lookRenders = serializers.IntegerField(
        help_text="Renders of the looks: a garment each, less a first garment its item rendered anyway."
    )
    perRender = CreditsField(help_text="Credits per render: 1 × quality multiplier × (1 − volume discount).")
    discount = serializers.DecimalField(
        max_digits=3, decimal_places=2, coerce_to_string=False, help_text="The volume discount of the cart."
    )


def session_pricing(session: CartTryOnSession, looks: list[Look]) -> dict:
    price = pricing.cart_pricing(
        quality=session.render_quality,
        item_count=session.item_count,
        look_sizes=[len(look.item_positions) for look in looks],
        render_items=session.render_items,
    )
    return {
        "itemRenders": price.item_renders,
        "lookRenders": price.look_renders,
        "perRender": _credits(price.per_render),
        "discount": float(price.discount),
    }


# The customer's own id; null once the customer was deleted (its photos and results are erased with it).
def external_id_field():
    return serializers.CharField(source="customer.external_id", allow_null=True, read_only=True)


class CartTryOnSessionSerializer(serializers.ModelSerializer):
    cartId = serializers.CharField(source="cart_id")
    externalId = external_id_field()
    customerPhotoS3Key = serializers.CharField(source="photo_key")
    renderQuality = serializers.CharField(source="render_quality")
    backgroundScene = serializers.CharField(source="background_scene")
    itemCount = serializers.IntegerField(source="item_count")
    creditsRequired = CreditsField(source="credits_required")
    creditsCharged = CreditsField(source="credits_charged")
    creditsRefunded = CreditsField(source="credits_refunded")
    estimatedCompletionTime = serializers.DateTimeField(source="estimated_completion_at", allow_null=True)
    cartItems = CartItemResultSerializer(source="items", many=True)
    renderItems = serializers.BooleanField(source="render_items")
    looks = serializers.SerializerMethodField()
    pricing = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)

    class Meta:
        model = CartTryOnSession
        fields = [
            "id",
            "cartId",
            "externalId",
            "status",
            "progress",
            "customerPhotoS3Key",
            "renderQuality",
            "backgroundScene",
            "itemCount",
            "creditsRequired",
            "creditsCharged",
            "creditsRefunded",
            "estimatedCompletionTime",
            "cartItems",
            "renderItems",
            "looks",
            "pricing",
            "metadata",
            "createdAt",
            "startedAt",
            "completedAt",
            "cancelledAt",
        ]
        read_only_fields = fields

    @staticmethod
    def _looks(session: CartTryOnSession) -> list[Look]:
        if not session.look_count:  # a cart without looks reads none
            return []
        return getattr(session, "written_looks", None) or list(session.looks.all())

    @extend_schema_field(LookResultSerializer(many=True))
    def get_looks(self, session: CartTryOnSession) -> list[dict]:
        looks = self._looks(session)
        garments = (
            {row.position: (row.product_id, row.variant_id) for row in session.items.all()} if looks else {}
        )
        return [LookResultSerializer.write(look, garments) for look in looks]

    @extend_schema_field(PricingSerializer)
    def get_pricing(self, session: CartTryOnSession) -> dict:
        return session_pricing(session, self._looks(session))

    def to_representation(self, session: CartTryOnSession) -> dict:
        # Written out like CartItemResultSerializer's, from the same declared fields (the schema). The
        # context may give the items (a create's rows as written) instead of the session's relation.
        customer = session.customer
        items = self.context.get("items")
        if items is None:
            items = list(session.items.all())
        looks = self._looks(session)
        garments = {row.position: (row.product_id, row.variant_id) for row in items} if looks else {}
        item = CartItemResultSerializer()
        return {
            "id": session.id,
            "cartId": session.cart_id,
            "externalId": customer.external_id if customer is not None else None,
            "status": str(session.status),
            "progress": session.progress,
            "customerPhotoS3Key": session.photo_key,
            "renderQuality": session.render_quality,
            "backgroundScene": session.background_scene,
            "itemCount": session.item_count,
            "creditsRequired": _credits(session.credits_required),
            "creditsCharged": _credits(session.credits_charged),
            "creditsRefunded": _credits(session.credits_refunded),
            "estimatedCompletionTime": _timestamp(session.estimated_completion_at),
            "cartItems": [item.to_representation(row) for row in items],
            "renderItems": session.render_items,
            "looks": [LookResultSerializer.write(look, garments) for look in looks],
            "pricing": session_pricing(session, looks),
            "metadata": session.metadata,
            "createdAt": _timestamp(session.created_at),
            "startedAt": _timestamp(session.started_at),
            "completedAt": _timestamp(session.completed_at),
            "cancelledAt": _timestamp(session.cancelled_at),
        }


class TryOnSerializer(_ResultMixin, serializers.ModelSerializer):
    sessionId = serializers.CharField(source="session_id", allow_null=True)
    externalId = external_id_field()
    customerPhotoS3Key = serializers.CharField(source="photo_key")
    productId = serializers.CharField(source="product_id")
    variantId = BlankAsNullCharField(source="variant_id")
    imageUrl = serializers.URLField(source="image_url")
    renderQuality = serializers.CharField(source="render_quality")
    backgroundScene = serializers.CharField(source="background_scene")
    creditsCharged = CreditsField(source="credits")
    creditsRefunded = CreditsField(source="credits_refunded")
    estimatedCompletionTime = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)

    class Meta:
        model = TryOn
        fields = [
            "id",
            "sessionId",
            "externalId",
            "status",
            "customerPhotoS3Key",
            "productId",
            "variantId",
            "name",
            "imageUrl",
            "category",
            "renderQuality",
            "backgroundScene",
            "resultUrl",
            "error",
            "engine",
            "renderMs",
            "backgroundSceneApplied",
            "creditsCharged",
            "creditsRefunded",
            "estimatedCompletionTime",
            "metadata",
            "createdAt",
            "completedAt",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_estimatedCompletionTime(self, tryon: TryOn) -> str | None:
        estimate = getattr(tryon, "estimated_completion_at", None)
        return estimate.strftime("%Y-%m-%dT%H:%M:%SZ") if estimate else None
