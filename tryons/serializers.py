import re
from decimal import ROUND_HALF_EVEN, Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxLengthValidator, MinLengthValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.metadata import MetadataField
from api.text import REFUSED_CHARACTERS, PlainTextField
from api.url_fields import OutboundURLField
from infrastructure import outbound
from organizations.models import RENDER_QUALITIES
from organizations.partner_ids import PartnerOrganizationIdField
from organizations.serializers import CreditsField
from tryons import pricing
from tryons.models import CATEGORIES, CartTryOnSession, TryOn
from tryons.representation import result_url, tryon_error
from tryons.services.creation import GarmentInput


def _image_url(value: str) -> str:
    try:
        outbound.check_url(value, resolve=False)
    except outbound.OutboundBlocked as exc:
        raise serializers.ValidationError(str(exc)) from None
    return value


class BlankAsNullCharField(serializers.CharField):
    """A text the partner did not give reads as null, in REST answers and webhook events alike."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value or None


class GarmentSerializer(serializers.Serializer):
    productId = PlainTextField(max_length=255)
    # null is accepted too, so that a client can send back the item as it reads it.
    variantId = PlainTextField(max_length=255, required=False, allow_blank=True, allow_null=True, default="")
    name = PlainTextField(max_length=500, required=False, allow_blank=True, default="")
    imageUrl = OutboundURLField(max_length=2048, validators=[_image_url])
    category = serializers.ChoiceField(choices=CATEGORIES)

    @staticmethod
    def to_garment(data: dict) -> GarmentInput:
        return GarmentInput(
            product_id=data["productId"],
            variant_id=data.get("variantId") or "",
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


class PriceField(serializers.DecimalField):
    """A shop's display price, kept to the cent: any number the schema allows (0 to 10^10) is taken and
    rounded, so 29.990000000000002 from a client's float arithmetic is 29.99, not a 400. It is shown back,
    never billed."""

    CENT = Decimal("0.01")
    LARGEST = Decimal("9999999999.99")
    LIMIT = Decimal("1e10")

    def validate_precision(self, value):
        # Out of range, the digits check refuses it (a 400); quantizing 8e173 would overflow instead (a 500).
        if abs(value) < self.LIMIT:
            value = min(value.quantize(self.CENT, rounding=ROUND_HALF_EVEN), self.LARGEST)
        return super().validate_precision(value)


# What DRF's CharField refuses in any text (ProhibitNullCharacters, ProhibitSurrogateCharacters), and what
# a partner's short text may not hold (api.text: the item's productId, variantId and name).
_REFUSED_IN_TEXT = re.compile(f"[{REFUSED_CHARACTERS}\ud800-\udfff]")
_CURRENCY = r"^[A-Z]{3}$"


def _plain_text(value, max_length: int, *, blank: bool) -> bool:
    """True if DRF's CharField would take `value` exactly as it is (no trimming, no conversion)."""
    return (
        type(value) is str
        and (blank or value != "")
        and len(value) <= max_length
        and value == value.strip()
        and _REFUSED_IN_TEXT.search(value) is None
    )


class CartItemSerializer(GarmentSerializer):
    """A cart item as sent. The declared fields are the contract and give every error; an item made only
    of plainly valid values (nearly all of them) is taken by `_plain_item`, which checks the same rules
    without DRF's per-field walk (20 items × 8 fields was most of a create's validation CPU).
    tests/tryons/test_serializers.py checks that both take the same items to the same values."""

    class Meta:
        list_serializer_class = CartItemListSerializer

    quantity = serializers.IntegerField(min_value=1, max_value=10_000, required=False, default=1)
    price = PriceField(max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True)
    currency = serializers.RegexField(_CURRENCY, required=False, allow_blank=True, default="")

    def to_internal_value(self, data):
        item = self._plain_item(data)
        return item if item is not None else super().to_internal_value(data)

    def _plain_item(self, data) -> dict | None:
        """The validated item if every value is plainly valid, else None (DRF's walk decides, and words
        the errors)."""
        if type(data) is not dict:
            return None
        variant_id, name = data.get("variantId", ""), data.get("name", "")
        image_url, category = data.get("imageUrl"), data.get("category")
        quantity, currency = data.get("quantity", 1), data.get("currency", "")
        if not (
            _plain_text(data.get("productId"), 255, blank=False)
            and _plain_text(variant_id, 255, blank=True)
            and _plain_text(name, 500, blank=True)
            and _plain_text(image_url, 2048, blank=False)
            and type(category) is str
            and category in CATEGORIES
            and type(quantity) is int
            and 1 <= quantity <= 10_000
            and _plain_text(currency, 3, blank=True)
            and (currency == "" or re.match(_CURRENCY, currency))
        ):
            return None
        item = {
            "productId": data["productId"],
            "variantId": variant_id,
            "name": name,
            "imageUrl": image_url,
            "category": category,
            "quantity": quantity,
            "currency": currency,
        }
        try:
            # The URL's own validators (Django's URLValidator, the outbound policy), and the price through
            # its field: the same objects DRF's walk runs.
            for validator in self.fields["imageUrl"].validators:
                validator(image_url)
            if "price" in data:
                item["price"] = self.fields["price"].run_validation(data["price"])
        except (serializers.ValidationError, DjangoValidationError):
            return None
        return item


class CartTryOnCreateSerializer(serializers.Serializer):
    cartId = PlainTextField(max_length=255)
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
            "creditsCharged": _credits(tryon.credits),
            "creditsRefunded": _credits(tryon.credits_refunded),
            "completedAt": _timestamp(tryon.completed_at),
        }


# The customer's own id; null once the customer was deleted (its photos and results are erased with it).
def _external_id_field():
    return serializers.CharField(source="customer.external_id", allow_null=True, read_only=True)


class CartTryOnSessionSerializer(serializers.ModelSerializer):
    cartId = serializers.CharField(source="cart_id")
    externalId = _external_id_field()
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
            "metadata",
            "createdAt",
            "startedAt",
            "completedAt",
            "cancelledAt",
        ]
        read_only_fields = fields

    def to_representation(self, session: CartTryOnSession) -> dict:
        # Written out like CartItemResultSerializer's, from the same declared fields (the schema). The
        # context may give the items (a create's rows as written) instead of the session's relation.
        customer = session.customer
        items = self.context.get("items")
        if items is None:
            items = session.items.all()
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
            "metadata": session.metadata,
            "createdAt": _timestamp(session.created_at),
            "startedAt": _timestamp(session.started_at),
            "completedAt": _timestamp(session.completed_at),
            "cancelledAt": _timestamp(session.cancelled_at),
        }


class TryOnSerializer(_ResultMixin, serializers.ModelSerializer):
    sessionId = serializers.CharField(source="session_id", allow_null=True)
    externalId = _external_id_field()
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


# --- Webhook event data: built from the same fields as the REST answers above, so the two cannot drift.


class CartTryOnEventDataSerializer(serializers.ModelSerializer):
    """`data` of every cart_tryon.* event (seed 001's shape plus metadata, externalId and full items)."""

    sessionId = serializers.CharField(source="id")
    cartId = serializers.CharField(source="cart_id")
    organizationId = PartnerOrganizationIdField(source="organization_id")
    externalId = _external_id_field()
    itemCount = serializers.IntegerField(source="item_count")
    successCount = serializers.SerializerMethodField()
    failureCount = serializers.SerializerMethodField()
    creditsCharged = CreditsField(source="credits_charged")
    creditsRefunded = CreditsField(
        source="credits_refunded", help_text="Everything refunded on this session so far."
    )
    results = CartItemResultSerializer(source="items", many=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)

    class Meta:
        model = CartTryOnSession
        fields = [
            "sessionId",
            "cartId",
            "organizationId",
            "externalId",
            "status",
            "itemCount",
            "successCount",
            "failureCount",
            "creditsCharged",
            "creditsRefunded",
            "metadata",
            "results",
            "completedAt",
            "cancelledAt",
        ]
        read_only_fields = fields

    def get_successCount(self, session: CartTryOnSession) -> int:
        return sum(1 for item in session.items.all() if item.status == TryOn.Status.COMPLETED)

    def get_failureCount(self, session: CartTryOnSession) -> int:
        return sum(1 for item in session.items.all() if item.status == TryOn.Status.FAILED)


class CancellationSerializer(serializers.Serializer):
    refundedCredits = CreditsField(help_text="Credits this cancellation returned to the balance.")
    refundedItemCount = serializers.IntegerField(
        help_text="Items cancelled and refunded: every item not rendered yet, one rendering then included."
    )
    itemStillRendering = serializers.BooleanField(
        help_text="An item was rendering when the session was cancelled: it is refunded with the others, and "
        "its result, if one comes, is dropped."
    )


class CartTryOnCancelledEventDataSerializer(CartTryOnEventDataSerializer):
    """`data` of cart_tryon.cancelled: the session as cancelled, and what the cancellation refunded."""

    cancellation = serializers.SerializerMethodField()

    class Meta(CartTryOnEventDataSerializer.Meta):
        fields = [*CartTryOnEventDataSerializer.Meta.fields, "cancellation"]
        read_only_fields = fields

    @extend_schema_field(CancellationSerializer)
    def get_cancellation(self, session: CartTryOnSession) -> dict:
        return CancellationSerializer(self.context["cancellation"]).data


class TryOnEventDataSerializer(TryOnSerializer):
    """`data` of tryon.completed / tryon.failed: the REST try-on under its event names."""

    tryonId = serializers.CharField(source="id")
    organizationId = PartnerOrganizationIdField(source="organization_id")

    class Meta(TryOnSerializer.Meta):
        fields = ["tryonId", "organizationId", *TryOnSerializer.Meta.fields[1:]]
        read_only_fields = fields


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
