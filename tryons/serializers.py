from django.core.validators import MaxLengthValidator, MinLengthValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config import outbound
from config.metadata import MetadataField
from config.url_fields import OutboundURLField
from organizations.models import RENDER_QUALITIES
from organizations.serializers import CreditsField
from tryons import pricing
from tryons.models import CATEGORIES, CartTryOnSession, TryOn
from tryons.representation import result_url, tryon_error
from tryons.services import GarmentInput


def _image_url(value: str) -> str:
    try:
        outbound.check_url(value, resolve=False)
    except outbound.OutboundBlocked as exc:
        raise serializers.ValidationError(str(exc)) from None
    return value


class GarmentSerializer(serializers.Serializer):
    productId = serializers.CharField(max_length=255)
    variantId = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    imageUrl = OutboundURLField(max_length=2048, validators=[_image_url])
    category = serializers.ChoiceField(choices=CATEGORIES)

    def to_garment(self, data: dict) -> GarmentInput:
        return GarmentInput(
            product_id=data["productId"],
            variant_id=data.get("variantId", ""),
            name=data.get("name", ""),
            image_url=data["imageUrl"],
            category=data["category"],
            quantity=data.get("quantity", 1),
            price=data.get("price"),
            currency=data.get("currency", ""),
        )


class CartItemListSerializer(serializers.ListSerializer):
    """`cartItems`: ListSerializer enforces min_length/max_length itself, before any validator runs.

    Exposing the same bounds as validators is what makes the schema generator publish minItems/maxItems;
    they can never fail (the length was already checked), so errors and what is accepted stay the same.
    """

    def get_validators(self):
        bounds = []
        if self.min_length is not None:
            bounds.append(MinLengthValidator(self.min_length))
        if self.max_length is not None:
            bounds.append(MaxLengthValidator(self.max_length))
        return [*super().get_validators(), *bounds]


class CartItemSerializer(GarmentSerializer):
    class Meta:
        list_serializer_class = CartItemListSerializer

    quantity = serializers.IntegerField(min_value=1, max_value=10_000, required=False, default=1)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, allow_blank=True, default="")


class CartTryOnCreateSerializer(serializers.Serializer):
    cartId = serializers.CharField(max_length=255)
    customerPhotoS3Key = serializers.CharField(max_length=255)
    cartItems = CartItemSerializer(many=True, min_length=1, max_length=pricing.MAX_CART_ITEMS)
    renderQuality = serializers.ChoiceField(
        choices=RENDER_QUALITIES, required=False, help_text="Defaults to the organization's setting."
    )
    backgroundScene = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    metadata = MetadataField(required=False, default=dict)


class TryOnCreateSerializer(GarmentSerializer):
    customerPhotoS3Key = serializers.CharField(max_length=255)
    renderQuality = serializers.ChoiceField(
        choices=RENDER_QUALITIES, required=False, help_text="Defaults to the organization's setting."
    )
    backgroundScene = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    metadata = MetadataField(required=False, default=dict)


# null until an item fails; then why, in a form partners can branch on (`code`) and show (`message`).
_ERROR_SCHEMA = {
    "type": "object",
    "nullable": True,
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


class _ResultMixin(serializers.Serializer):
    resultUrl = serializers.SerializerMethodField(help_text="Expiring signed URL of the rendered image.")
    error = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_resultUrl(self, tryon: TryOn) -> str | None:
        return result_url(tryon)

    @extend_schema_field(_ERROR_SCHEMA)
    def get_error(self, tryon: TryOn):
        return tryon_error(tryon)


class CartItemResultSerializer(_ResultMixin, serializers.ModelSerializer):
    tryonId = serializers.CharField(source="id")
    productId = serializers.CharField(source="product_id")
    variantId = serializers.CharField(source="variant_id")
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
            "creditsCharged",
            "creditsRefunded",
            "completedAt",
        ]
        read_only_fields = fields


class CartTryOnSessionSerializer(serializers.ModelSerializer):
    cartId = serializers.CharField(source="cart_id")
    customerPhotoS3Key = serializers.CharField(source="photo_key")
    renderQuality = serializers.CharField(source="render_quality")
    backgroundScene = serializers.CharField(source="background_scene")
    itemCount = serializers.IntegerField(source="item_count")
    creditsRequired = CreditsField(source="credits_required")
    creditsCharged = CreditsField(source="credits_charged")
    creditsRefunded = CreditsField(source="credits_refunded")
    estimatedCompletionTime = serializers.DateTimeField(source="estimated_completion_at", allow_null=True)
    cartItems = CartItemResultSerializer(source="items", many=True)
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)

    class Meta:
        model = CartTryOnSession
        fields = [
            "id",
            "cartId",
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
            "metadata",
            "createdAt",
            "startedAt",
            "completedAt",
            "cancelledAt",
        ]
        read_only_fields = fields


class TryOnSerializer(_ResultMixin, serializers.ModelSerializer):
    sessionId = serializers.CharField(source="session_id", allow_null=True)
    customerPhotoS3Key = serializers.CharField(source="photo_key")
    productId = serializers.CharField(source="product_id")
    variantId = serializers.CharField(source="variant_id")
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


class RenderCallbackSerializer(serializers.Serializer):
    tryonId = serializers.CharField()
    jobId = serializers.CharField()
    status = serializers.ChoiceField(choices=["completed", "failed"])
    contentType = serializers.ChoiceField(choices=["image/jpeg", "image/png"], required=False)
    image = serializers.CharField(required=False, help_text="Base64 of the rendered image (when completed).")
    error = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class RenderCallbackResponseSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    applied = serializers.BooleanField(
        help_text="False when the callback was stale (retried or finished item)."
    )
