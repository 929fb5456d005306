"""What a partner sends to create try-ons: a cart of garments, or one garment, with the customer's photo."""

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
from organizations.models import CENT
from tryons import controls, looks, pricing
from tryons.inputs import GarmentInput
from tryons.models import CATEGORIES
from tryons.qualities import QUALITY_NAMES
from tryons.scenes import SCENE_NAMES, SCENES

SCENES_HELP = (
    "The background behind the shopper: "
    + "; ".join(f"{scene.name}: {scene.description}" for scene in SCENES.values())
    + ". Empty or absent: original. A renderer that cannot place a scene keeps the photo's background "
    + "(each item's backgroundSceneApplied says which it shows)."
)


def _image_url(value: str) -> str:
    try:
        outbound.check_url(value, resolve=False)
    except outbound.OutboundBlocked as exc:
        raise serializers.ValidationError(str(exc)) from None
    return value


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
            garment_photo_type=data.get("garmentPhotoType") or "",
            num_samples=data.get("numSamples"),
            seed=data.get("seed"),
            output_format=data.get("outputFormat") or "",
            reuse=data.get("reuse"),
            garment_id=data.get("garmentId") or "",
            product_id=data["productId"],
            variant_id=data.get("variantId") or "",
            name=data.get("name", ""),
            image_url=data.get("imageUrl") or "",
            category=data.get("category") or "",
            quantity=data.get("quantity", 1),
            price=data.get("price"),
            currency=data.get("currency", ""),
        )


class RenderControlsMixin(serializers.Serializer):
    """The render controls (tryons.controls): on the cart, and on an item over the cart's."""

    garmentPhotoType = serializers.ChoiceField(
        choices=controls.GARMENT_PHOTO_TYPES,
        required=False,
        help_text="What the garment image shows: auto (let the engine tell), flat-lay (the garment laid "
        "flat or on a ghost mannequin) or model (worn by someone). Engines that take no photo type ignore "
        "it, and the item's engineNotes say so.",
    )
    numSamples = serializers.IntegerField(
        min_value=1,
        max_value=controls.MAX_SAMPLES,
        required=False,
        help_text=f"Images of the item, 1 to {controls.MAX_SAMPLES} (default 1); each is one render, "
        "priced as one, and listed in the item's results.",
    )
    seed = serializers.IntegerField(
        min_value=0,
        max_value=controls.SEED_MODULUS - 1,
        required=False,
        help_text="Sample i is rendered with seed + i (modulo 2^32). Without one, several samples get a "
        "random seed, reported on each result.",
    )
    outputFormat = serializers.ChoiceField(
        choices=controls.OUTPUT_FORMAT_NAMES,
        required=False,
        help_text="The results' image format (default jpeg); converted by us where the engine cannot "
        "answer in it.",
    )

    reuse = serializers.BooleanField(
        required=False,
        help_text='false: render anew, even when an identical render was done before (README, "Render '
        'reuse"). Default true: an identical earlier render of this organization is handed out instead, '
        "at the organization's reusedRenderPrice.",
    )


# The fields a request names the controls by: an item giving any of them is validated field by field.
CONTROL_FIELDS = frozenset(RenderControlsMixin._declared_fields)


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

    LARGEST = Decimal("9999999999.99")
    LIMIT = Decimal("1e10")

    def validate_precision(self, value):
        # Out of range, the digits check refuses it (a 400); quantizing 8e173 would overflow instead (a 500).
        if abs(value) < self.LIMIT:
            value = min(value.quantize(CENT, rounding=ROUND_HALF_EVEN), self.LARGEST)
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


class CartItemSerializer(RenderControlsMixin, GarmentSerializer):
    """A cart item as sent. The declared fields are the contract and give every error; an item made only
    of plainly valid values (nearly all of them) is taken by `_plain_item`, which checks the same rules
    without DRF's per-field walk (20 items × 8 fields was most of a create's validation CPU).
    tests/tryons/test_serializers.py checks that both take the same items to the same values."""

    class Meta:
        list_serializer_class = CartItemListSerializer

    garmentId = PlainTextField(
        max_length=64,
        required=False,
        help_text="A catalogue garment (POST /v1/garments) instead of imageUrl and category: its image is "
        "the catalogue's copy, its category, name and garmentPhotoType the item's unless given.",
    )
    imageUrl = OutboundURLField(
        max_length=2048, validators=[_image_url], required=False, help_text="Required without garmentId."
    )
    category = serializers.ChoiceField(
        choices=CATEGORIES, required=False, help_text="Required without garmentId."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, required=False, default=1)
    price = PriceField(max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True)
    currency = serializers.RegexField(_CURRENCY, required=False, allow_blank=True, default="")

    def to_internal_value(self, data):
        item = self._plain_item(data)
        return item if item is not None else super().to_internal_value(data)

    def validate(self, attrs):
        if not attrs.get("garmentId"):
            missing = {
                name: ["This field is required."] for name in ("imageUrl", "category") if name not in attrs
            }
            if missing:
                raise serializers.ValidationError(missing)
        return attrs

    def _plain_item(self, data) -> dict | None:
        """The validated item if every value is plainly valid, else None (DRF's walk decides, and words
        the errors)."""
        if type(data) is not dict or not CONTROL_FIELDS.isdisjoint(data) or "garmentId" in data:
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


_PLAIN_ID = {"type": "string", "minLength": 1, "maxLength": 255}
_LOOK_ITEM_SCHEMA = {
    "oneOf": [
        {**_PLAIN_ID, "description": "The cart item's productId."},
        {
            "type": "object",
            "properties": {"productId": _PLAIN_ID, "variantId": _PLAIN_ID},
            "required": ["productId", "variantId"],
            "description": "A product the cart holds more than once, named with its variantId.",
        },
    ]
}
_LOOK_SCHEMA = {
    "type": "object",
    "properties": {
        "lookId": {
            "type": "string",
            "minLength": 1,
            "maxLength": looks.LOOK_ID_MAX_LENGTH,
            "description": "Generated (look-1, look-2, ...) when absent.",
        },
        "items": {
            "type": "array",
            "minItems": looks.MIN_LOOK_ITEMS,
            "maxItems": looks.MAX_LOOK_ITEMS,
            "items": _LOOK_ITEM_SCHEMA,
            "description": "Cart items worn together: one garment per body zone (upper, lower, full, outer).",
        },
    },
    "required": ["items"],
}


@extend_schema_field(_LOOK_ITEM_SCHEMA)
class LookItemField(serializers.Field):
    """A look's garment: a cart item's productId, or {productId, variantId} when the cart holds it twice."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            return PlainTextField(max_length=255).run_validation(data)
        if isinstance(data, dict) and set(data) <= {"productId", "variantId"} and "productId" in data:
            return {
                "productId": PlainTextField(max_length=255).run_validation(data["productId"]),
                "variantId": PlainTextField(max_length=255).run_validation(data.get("variantId", "")),
            }
        raise serializers.ValidationError("Must be a productId, or an object {productId, variantId}.")

    def to_representation(self, value):
        return value


class LookSerializer(serializers.Serializer):
    lookId = PlainTextField(
        max_length=looks.LOOK_ID_MAX_LENGTH, required=False, help_text="Generated (look-1, ...) when absent."
    )
    items = serializers.ListField(
        child=LookItemField(),
        min_length=looks.MIN_LOOK_ITEMS,
        max_length=looks.MAX_LOOK_ITEMS,
        help_text="Cart items worn together: one garment per body zone (upper, lower, full, outer).",
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": [looks.AUTO]},
            {"type": "array", "maxItems": looks.MAX_LOOKS, "items": _LOOK_SCHEMA},
        ],
        "description": (
            f'Up to {looks.MAX_LOOKS} looks, or "auto": one look of the cart\'s first dress or one-piece, '
            "else its first top and first bottoms, plus its first outerwear."
        ),
        "example": [{"lookId": "look-1", "items": ["prod_001", "prod_002"]}],
    }
)
class LooksField(serializers.Field):
    def to_internal_value(self, data):
        if data == looks.AUTO:
            return data
        if not isinstance(data, list):
            raise serializers.ValidationError(f'Must be "{looks.AUTO}" or a list of looks.')
        if len(data) > looks.MAX_LOOKS:
            raise serializers.ValidationError(f"Ensure at most {looks.MAX_LOOKS} looks.")
        parsed, errors = [], {}
        for index, look in enumerate(data):
            items = look.get("items") if isinstance(look, dict) else None
            if isinstance(items, list) and len(items) > looks.MAX_LOOK_ITEMS:  # before any item is parsed
                too_many = f"Ensure this field has no more than {looks.MAX_LOOK_ITEMS} elements."
                errors[index] = {"items": [too_many]}
                continue
            serializer = LookSerializer(data=look)
            if serializer.is_valid():
                parsed.append(serializer.validated_data)
            else:
                errors[index] = serializer.errors
        if errors:
            raise serializers.ValidationError(errors)
        return parsed

    def to_representation(self, value):
        return value


class CartTryOnCreateSerializer(RenderControlsMixin, serializers.Serializer):
    cartId = PlainTextField(max_length=255)
    customerPhotoS3Key = serializers.CharField(max_length=255)
    cartItems = CartItemSerializer(many=True, min_length=1, max_length=pricing.MAX_CART_ITEMS)
    renderQuality = serializers.ChoiceField(
        choices=QUALITY_NAMES, required=False, help_text="Defaults to the organization's setting."
    )
    backgroundScene = serializers.ChoiceField(
        choices=SCENE_NAMES,
        required=False,
        allow_blank=True,
        default="",
        help_text=SCENES_HELP,
    )
    metadata = MetadataField(required=False, default=dict)
    looks = LooksField(required=False)
    renderItems = serializers.BooleanField(
        required=False, default=True, help_text="false: render only the looks, not every item alone."
    )


class TryOnCreateSerializer(GarmentSerializer):
    customerPhotoS3Key = serializers.CharField(max_length=255)
    renderQuality = serializers.ChoiceField(
        choices=QUALITY_NAMES, required=False, help_text="Defaults to the organization's setting."
    )
    backgroundScene = serializers.ChoiceField(
        choices=SCENE_NAMES,
        required=False,
        allow_blank=True,
        default="",
        help_text=SCENES_HELP,
    )
    metadata = MetadataField(required=False, default=dict)
