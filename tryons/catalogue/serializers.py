"""A garment as a partner registers it and reads it back (REST and the garment.* events)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.metadata import MetadataField
from api.text import PlainTextField
from api.url_fields import OutboundURLField
from tryons import controls
from tryons.catalogue.models import Garment
from tryons.models import CATEGORIES
from tryons.serializers.creation import GarmentSerializer
from tryons.serializers.fields import ERROR_SCHEMA


class GarmentUpsertSerializer(serializers.Serializer):
    productId = PlainTextField(max_length=255)
    variantId = PlainTextField(max_length=255, required=False, allow_blank=True, default="")
    imageUrl = OutboundURLField(max_length=2048, validators=GarmentSerializer().fields["imageUrl"].validators)
    category = serializers.ChoiceField(choices=CATEGORIES)
    name = PlainTextField(max_length=500, required=False, allow_blank=True)
    garmentPhotoType = serializers.ChoiceField(choices=controls.GARMENT_PHOTO_TYPES, required=False)
    metadata = MetadataField(required=False)

    def to_fields(self) -> dict:
        """The model fields given (those left out keep their stored values)."""
        names = {"imageUrl": "image_url", "category": "category", "name": "name",
                 "garmentPhotoType": "garment_photo_type", "metadata": "metadata"}  # fmt: skip
        return {field: self.validated_data[key] for key, field in names.items() if key in self.validated_data}


class GarmentSerializer(serializers.ModelSerializer):
    productId = serializers.CharField(source="product_id")
    variantId = serializers.SerializerMethodField()
    imageUrl = serializers.URLField(source="image_url")
    garmentPhotoType = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    fetchedAt = serializers.DateTimeField(source="fetched_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Garment
        fields = [
            "id",
            "productId",
            "variantId",
            "name",
            "imageUrl",
            "category",
            "garmentPhotoType",
            "status",
            "error",
            "width",
            "height",
            "metadata",
            "fetchedAt",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "nullable": True})
    def get_variantId(self, garment: Garment) -> str | None:
        return garment.variant_id or None

    @extend_schema_field(serializers.ChoiceField(choices=controls.GARMENT_PHOTO_TYPES))
    def get_garmentPhotoType(self, garment: Garment) -> str:
        return garment.garment_photo_type or controls.DEFAULT_GARMENT_PHOTO_TYPE

    @extend_schema_field(ERROR_SCHEMA)
    def get_error(self, garment: Garment) -> dict | None:
        """Why its image could not be fetched: {code, message} while `failed`, else null."""
        if garment.status != Garment.Status.FAILED:
            return None
        return {"code": garment.error_code, "message": garment.error}
