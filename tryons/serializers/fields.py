"""The fields a try-on's representations share: REST answers and webhook event data alike."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from organizations.serializers import CreditsField
from tryons.models import TryOn
from tryons.representation import result_url, scene_applied, tryon_error
from tryons.scenes import SCENE_NAMES


class BlankAsNullCharField(serializers.CharField):
    """A text the partner did not give reads as null, in REST answers and webhook events alike."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value or None


# Format values as the declared fields do, for the written-out representations (items, results).
_CREDITS = CreditsField()
_TIMESTAMP = serializers.DateTimeField()


def credits_value(value: Decimal | None) -> int | float | None:
    return None if value is None else _CREDITS.to_representation(value)


def timestamp_value(value) -> str | None:
    return None if value is None else _TIMESTAMP.to_representation(value)


# null until an item fails; then why, in a form partners can branch on (`code`) and show (`message`).
ERROR_SCHEMA = {
    "type": "object",
    "nullable": True,
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


class ResultMixin(serializers.Serializer):
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

    @extend_schema_field(ERROR_SCHEMA)
    def get_error(self, tryon: TryOn):
        return tryon_error(tryon)
