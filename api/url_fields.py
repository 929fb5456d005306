"""The URL field for outbound targets (garment images, webhook endpoints), documented as the policy applies.

`infrastructure.outbound.check_url` accepts only https (plain http too with
OUTBOUND_ALLOW_PRIVATE_NETWORKS); the
schema says so with a pattern, read when the document is generated, so clients can check before sending.
Validation is unchanged: URLField's rules, then the serializer's or service's outbound check.
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

# Schemes are case-insensitive (urlsplit lowercases them), hence the spelled-out classes.
HTTPS_ONLY_PATTERN = "^[Hh][Tt][Tt][Pp][Ss]://"
HTTP_OR_HTTPS_PATTERN = "^[Hh][Tt][Tt][Pp][Ss]?://"


class OutboundURLField(serializers.URLField):
    pass


class OutboundURLFieldExtension(OpenApiSerializerFieldExtension):
    target_class = OutboundURLField

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.URI)
        if settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS:
            schema["pattern"] = HTTP_OR_HTTPS_PATTERN
        else:
            schema["pattern"] = HTTPS_ONLY_PATTERN
            schema["description"] = (
                "An absolute https URL of a public host (no credentials, no private or loopback address)."
            )
        return schema
