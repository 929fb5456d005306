"""A cart item as a partner reads it (REST answers and cart events): its garment, its status over its
samples, every image delivered and what its engine could not do (tryons.representation)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from organizations.serializers import CreditsField
from tryons import controls
from tryons.models import TryOn
from tryons.representation import (
    item_engine_notes,
    item_results,
    item_reused,
    item_samples,
    item_status,
    scene_applied,
    tryon_error,
)
from tryons.serializers.fields import BlankAsNullCharField, ResultMixin, credits_value, timestamp_value


class SampleResultSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Expiring signed URL of the image.")
    seed = serializers.IntegerField(allow_null=True, help_text="The seed it was rendered with; null: none.")
    format = serializers.ChoiceField(choices=controls.OUTPUT_FORMAT_NAMES)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    reused = serializers.BooleanField(
        help_text='An identical earlier render handed out again (README, "Render reuse"), not rendered.'
    )


class EngineNoteSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=controls.ENGINE_NOTE_CODES,
        help_text="garment_photo_type_ignored: the engine takes no garment photo type; seed_ignored: it "
        "takes no seed.",
    )
    message = serializers.CharField()


class CartItemListResultSerializer(serializers.ListSerializer):
    """A cart's rows as its items: an item of several samples is one entry (tryons.representation)."""

    def to_representation(self, data):
        rows = data.all() if hasattr(data, "all") else data
        return [self.child.write(samples) for samples in item_samples(rows)]


class CartItemResultSerializer(ResultMixin, serializers.ModelSerializer):
    """One cart item, the same in `cartItems` (REST) and in a cart event's `results` (webhooks).

    The declared fields are the schema; `write` writes the same values out directly, from the item's rows
    (one per sample): DRF's walk over 15 fields for each of 20 items was most of the status poll's and the
    cart create's serialization (tests/tryons/test_serializers.py checks the two agree).
    """

    tryonId = serializers.CharField(source="id")
    productId = serializers.CharField(source="product_id")
    variantId = BlankAsNullCharField(source="variant_id")
    imageUrl = serializers.URLField(source="image_url")
    creditsCharged = CreditsField(source="credits")
    creditsRefunded = CreditsField(source="credits_refunded")
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    garmentPhotoType = serializers.SerializerMethodField()
    numSamples = serializers.SerializerMethodField()
    seed = serializers.IntegerField(allow_null=True, help_text="Its first sample's seed; null: none.")
    outputFormat = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()
    engineNotes = serializers.SerializerMethodField()
    reused = serializers.SerializerMethodField()

    class Meta:
        model = TryOn
        list_serializer_class = CartItemListResultSerializer
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
            "garmentPhotoType",
            "numSamples",
            "seed",
            "outputFormat",
            "results",
            "engineNotes",
            "reused",
        ]
        read_only_fields = fields

    # The declared fields below read one row: an item of one sample (the walk tests/tryons/
    # test_serializers.py compares `write` with).
    @extend_schema_field(
        serializers.ChoiceField(choices=controls.GARMENT_PHOTO_TYPES, help_text="As asked (auto when not).")
    )
    def get_garmentPhotoType(self, tryon: TryOn) -> str:
        return tryon.garment_photo_type or controls.DEFAULT_GARMENT_PHOTO_TYPE

    @extend_schema_field(
        serializers.IntegerField(help_text="Images asked of the item (numSamples), each one render.")
    )
    def get_numSamples(self, tryon: TryOn) -> int:
        return 1

    @extend_schema_field(
        serializers.ChoiceField(
            choices=controls.OUTPUT_FORMAT_NAMES,
            allow_null=True,
            help_text="As asked; null: none asked (results come as the engine answers, JPEG or PNG).",
        )
    )
    def get_outputFormat(self, tryon: TryOn) -> str | None:
        return tryon.output_format or None

    @extend_schema_field(
        SampleResultSerializer(
            many=True,
            help_text="Every image delivered, in sample order; resultUrl is the first one's. A sample that "
            "failed is refunded and missing here.",
        )
    )
    def get_results(self, tryon: TryOn) -> list[dict]:
        return item_results([tryon])

    @extend_schema_field(
        EngineNoteSerializer(
            many=True,
            help_text="What the engine that rendered it did not do of the controls asked; [] when nothing.",
        )
    )
    def get_engineNotes(self, tryon: TryOn) -> list[dict]:
        return item_engine_notes([tryon])

    @extend_schema_field(
        serializers.BooleanField(
            help_text="Every image delivered was an identical earlier render handed out again (README, "
            '"Render reuse"): no engine call, priced at the organization\'s reusedRenderPrice.'
        )
    )
    def get_reused(self, tryon: TryOn) -> bool:
        return item_reused([tryon])

    def to_representation(self, tryon: TryOn) -> dict:
        return self.write([tryon])

    @staticmethod
    def write(samples: list[TryOn]) -> dict:
        """The item from its rows, its first sample first."""
        first = samples[0]
        results = item_results(samples)
        status = item_status(samples)
        delivered = next((row for row in samples if row.status == TryOn.Status.COMPLETED), first)
        finished = all(row.is_finished for row in samples)
        ended = [row.completed_at for row in samples if row.completed_at is not None]
        return {
            "tryonId": first.id,
            "productId": first.product_id,
            "variantId": first.variant_id or None,
            "name": first.name,
            "imageUrl": first.image_url,
            "category": first.category,
            "quantity": first.quantity,
            "status": status,
            "resultUrl": results[0]["url"] if results else None,
            "error": tryon_error(first) if status != TryOn.Status.COMPLETED else None,
            "engine": first.renderer or None,
            "renderMs": delivered.render_ms,
            "backgroundSceneApplied": scene_applied(delivered),
            "creditsCharged": credits_value(sum((row.credits for row in samples), Decimal("0"))),
            "creditsRefunded": credits_value(sum((row.credits_refunded for row in samples), Decimal("0"))),
            "completedAt": timestamp_value(max(ended)) if finished and ended else None,
            "garmentPhotoType": first.garment_photo_type or controls.DEFAULT_GARMENT_PHOTO_TYPE,
            "numSamples": len(samples),
            "seed": first.seed,
            "outputFormat": first.output_format or None,
            "results": results,
            "engineNotes": item_engine_notes(samples),
            "reused": item_reused(samples),
        }
