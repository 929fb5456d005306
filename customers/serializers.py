import re

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.errors import PayloadTooLarge
from api.metadata import METADATA_MAX_BYTES, MetadataField, metadata_validate
from api.parsers import json_loads
from api.text import PlainTextField, refuse_control_characters
from customers.models import Photo
from infrastructure.storage import storage_signed_url

# externalId travels in the URL path: anything but separators, percent signs and whitespace is allowed,
# so emails, dotted ids and UUIDs all work unencoded.
EXTERNAL_ID_PATTERN = re.compile(r"^[^/?#%\s\x00-\x1f\x7f]{1,255}$")
# The same rule for the OpenAPI document, whose tools use ECMAScript regexes: there `\s` is another set
# (no \x85, plus \ufeff), so Python's whitespace is spelled out (tests/customers/test_schema_patterns.py).
# The bulk job collections live at /v1/customers/imports and /v1/customers/exports.
RESERVED_EXTERNAL_IDS = frozenset({"imports", "exports"})
EXTERNAL_ID_SCHEMA_PATTERN = (
    r"^[^/?#%\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{1,255}$"
)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": EXTERNAL_ID_SCHEMA_PATTERN,
        "example": "cust-42@shop.example",
        "description": "Your id for the customer: 1-255 characters, no '/', '?', '#', '%' or whitespace.",
    }
)
class ExternalIdField(serializers.CharField):
    """A CharField whose documented schema carries the externalId rule that `validate_externalId` applies."""


# Formats timestamps as every DateTimeField of the API does (REST_FRAMEWORK["DATETIME_FORMAT"], UTC).
_TIMESTAMP = serializers.DateTimeField()


class CustomerUpsertSerializer(serializers.Serializer):
    externalId = ExternalIdField(max_length=255, trim_whitespace=False)
    email = serializers.EmailField(
        max_length=254, required=False, allow_blank=True, validators=[refuse_control_characters]
    )
    name = PlainTextField(max_length=255, required=False, allow_blank=True)
    metadata = MetadataField(required=False)

    def validate_externalId(self, value):
        if not EXTERNAL_ID_PATTERN.match(value):
            raise serializers.ValidationError(
                "Must be 1-255 characters without '/', '?', '#', '%' or whitespace."
            )
        if value in RESERVED_EXTERNAL_IDS:
            raise serializers.ValidationError(f"'{value}' is reserved (it names the bulk job collection).")
        return value


class CustomerSerializer(serializers.Serializer):
    """A customer as partners see it, on the hottest partner read (`GET /v1/customers/{externalId}`).

    The declared fields are the schema; `to_representation` writes the same values out directly, because
    DRF deep-copies every declared field for each instance it serializes, which was most of this
    serializer's CPU (tests/customers/test_serializers.py checks the two agree).
    """

    id = serializers.CharField(read_only=True)
    externalId = serializers.CharField(source="external_id", read_only=True)
    email = serializers.EmailField(
        read_only=True, allow_null=True, help_text="null when the customer has no email."
    )
    name = serializers.CharField(read_only=True)
    photoUrl = serializers.SerializerMethodField(
        help_text="Expiring signed URL of the latest photo, or null."
    )
    metadata = MetadataField(read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    def to_representation(self, customer):
        return {
            "id": customer.id,
            "externalId": customer.external_id,
            "email": customer.email or None,  # "" is stored for "no email"; partners see null
            "name": customer.name,
            "photoUrl": self.get_photoUrl(customer),
            "metadata": customer.metadata,
            "createdAt": _TIMESTAMP.to_representation(customer.created_at),
            "updatedAt": _TIMESTAMP.to_representation(customer.updated_at),
        }

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_photoUrl(self, customer) -> str | None:
        # Lists annotate `latest_photo_key`; a single customer falls back to one query.
        if hasattr(customer, "latest_photo_key"):
            key = customer.latest_photo_key
        else:
            key = customer.photos.order_by("-uploaded_at").values_list("storage_key", flat=True).first()
        return storage_signed_url(key) if key else None


class PhotoUploadSerializer(serializers.Serializer):
    photo = serializers.FileField(
        allow_empty_file=False,
        use_url=False,
        help_text="JPEG, PNG or WebP; judged by decoding. EXIF (GPS included) is stripped on upload.",
    )
    metadata = serializers.CharField(
        required=False,
        max_length=METADATA_MAX_BYTES,
        help_text='Optional JSON object as a string, e.g. {"capturedAt": "2025-12-11T10:00:00Z"}.',
    )

    def validate_photo(self, upload):
        if upload.size > settings.PHOTO_MAX_BYTES:
            # Normally refused earlier from Content-Length; this covers a body that did not declare it.
            raise PayloadTooLarge(
                f"Photo must be at most {settings.PHOTO_MAX_BYTES} bytes.",
                details={"maxBytes": settings.PHOTO_MAX_BYTES},
            )
        return upload

    def validate_metadata(self, value):
        try:
            parsed = json_loads(value)  # bounded: 8 KB of `[[[[` would exhaust json.loads' recursion
        except ValueError:
            raise serializers.ValidationError("Must be a JSON object encoded as a string.") from None
        return metadata_validate(parsed)


class PhotoSerializer(serializers.ModelSerializer):
    photoUrl = serializers.SerializerMethodField(help_text="Expiring signed URL of the cleaned photo.")
    photoS3Key = serializers.CharField(
        source="storage_key", help_text="Pass back as `customerPhotoS3Key` when creating try-ons."
    )
    uploadedAt = serializers.DateTimeField(source="uploaded_at")
    contentType = serializers.CharField(source="content_type")
    sizeBytes = serializers.IntegerField(source="size_bytes")
    metadata = MetadataField()

    class Meta:
        model = Photo
        fields = [
            "id",
            "photoUrl",
            "photoS3Key",
            "uploadedAt",
            "width",
            "height",
            "contentType",
            "sizeBytes",
            "metadata",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_photoUrl(self, photo) -> str:
        return storage_signed_url(photo.storage_key)
