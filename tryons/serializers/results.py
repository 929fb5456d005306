"""What a partner reads back: a cart session with its items, a single try-on (REST answers, and the fields the
webhook event data in tryons.serializers.events shares)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from organizations.serializers import CreditsField
from tryons import pricing
from tryons.models import CartTryOnSession, Look, TryOn
from tryons.representation import item_samples, look_garments, result_url, tryon_error
from tryons.serializers.fields import BlankAsNullCharField, ResultMixin, credits_value, timestamp_value
from tryons.serializers.items import CartItemResultSerializer


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
            "creditsCharged": credits_value(look.credits),
            "creditsRefunded": credits_value(look.credits_refunded),
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


def session_pricing(session: CartTryOnSession, looks: list[Look], items) -> dict:
    price = pricing.cart_pricing(
        quality=session.render_quality,
        item_count=session.item_count,
        samples=[len(samples) for samples in item_samples(items)],
        look_sizes=[len(look.item_positions) for look in looks],
        render_items=session.render_items,
    )
    return {
        "itemRenders": price.item_renders,
        "lookRenders": price.look_renders,
        "perRender": credits_value(price.per_render),
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
        garments = look_garments(session.items.all()) if looks else {}
        return [LookResultSerializer.write(look, garments) for look in looks]

    @extend_schema_field(PricingSerializer)
    def get_pricing(self, session: CartTryOnSession) -> dict:
        return session_pricing(session, self._looks(session), session.items.all())

    def to_representation(self, session: CartTryOnSession) -> dict:
        # Written out like CartItemResultSerializer's, from the same declared fields (the schema). The
        # context may give the items (a create's rows as written) instead of the session's relation.
        customer = session.customer
        items = self.context.get("items")
        if items is None:
            items = list(session.items.all())
        looks = self._looks(session)
        garments = look_garments(items) if looks else {}
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
            "creditsRequired": credits_value(session.credits_required),
            "creditsCharged": credits_value(session.credits_charged),
            "creditsRefunded": credits_value(session.credits_refunded),
            "estimatedCompletionTime": timestamp_value(session.estimated_completion_at),
            "cartItems": [CartItemResultSerializer.write(samples) for samples in item_samples(items)],
            "renderItems": session.render_items,
            "looks": [LookResultSerializer.write(look, garments) for look in looks],
            "pricing": session_pricing(session, looks, items),
            "metadata": session.metadata,
            "createdAt": timestamp_value(session.created_at),
            "startedAt": timestamp_value(session.started_at),
            "completedAt": timestamp_value(session.completed_at),
            "cancelledAt": timestamp_value(session.cancelled_at),
        }


class TryOnSerializer(ResultMixin, serializers.ModelSerializer):
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
    reused = serializers.SerializerMethodField()

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
            "reused",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.BooleanField(
            help_text='An identical earlier render handed out again (README, "Render reuse"): no engine call.'
        )
    )
    def get_reused(self, tryon: TryOn) -> bool:
        return bool(tryon.reused_from)

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_estimatedCompletionTime(self, tryon: TryOn) -> str | None:
        estimate = getattr(tryon, "estimated_completion_at", None)
        return estimate.strftime("%Y-%m-%dT%H:%M:%SZ") if estimate else None
