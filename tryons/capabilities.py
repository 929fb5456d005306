"""What this deployment renders for a key, as GET /v1/account shows it (`renderCapabilities`): each quality
with its price, size and renderer in the key's mode, the background scenes and which qualities place them,
and what a look may hold. Registered with apikeys in TryonsConfig.ready (keys sit below try-ons)."""

from rest_framework import serializers

from tryons.engines.selection import renderer_for
from tryons.looks import CATEGORY_ZONES, MAX_LOOK_ITEMS, MAX_LOOKS, MIN_LOOK_ITEMS
from tryons.models import TryOn
from tryons.qualities import QUALITIES
from tryons.renderers.registry import RENDERERS
from tryons.scenes import SCENE_NAMES


class QualityCapabilitySerializer(serializers.Serializer):
    name = serializers.CharField()
    credits = serializers.FloatField(help_text="Credits per render before the volume discount.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    renderer = serializers.CharField(help_text="What renders it for this key now (test keys: local).")
    placesScenes = serializers.BooleanField(
        help_text="Whether that renderer puts backgroundScene behind the shopper."
    )


class LookCapabilitySerializer(serializers.Serializer):
    maxLooks = serializers.IntegerField()
    minItems = serializers.IntegerField()
    maxItems = serializers.IntegerField()
    zones = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each body zone and the categories that dress it: a look holds one garment per zone.",
    )


class RenderCapabilitiesSerializer(serializers.Serializer):
    qualities = QualityCapabilitySerializer(many=True)
    backgroundScenes = serializers.ListField(child=serializers.CharField())
    looks = LookCapabilitySerializer()


EXAMPLE = {
    "qualities": [
        {
            "name": "sd",
            "credits": 1.0,
            "width": 576,
            "height": 864,
            "renderer": "fashn",
            "placesScenes": False,
        },
        {
            "name": "hd",
            "credits": 2.0,
            "width": 768,
            "height": 1024,
            "renderer": "fashn",
            "placesScenes": False,
        },
        {
            "name": "4k",
            "credits": 4.0,
            "width": 1536,
            "height": 2048,
            "renderer": "fashn",
            "placesScenes": False,
        },
    ],
    "backgroundScenes": ["original", "studio", "white"],
    "looks": {
        "maxLooks": 5,
        "minItems": 2,
        "maxItems": 4,
        "zones": {
            "upper": ["tops"],
            "lower": ["bottoms"],
            "full": ["dresses", "one-pieces"],
            "outer": ["outerwear"],
        },
    },
}


def render_capabilities(principal) -> dict:
    qualities = []
    for quality in QUALITIES.values():
        renderer = renderer_for(TryOn(organization_id=principal.organization_id, render_quality=quality.name))
        qualities.append(
            {
                "name": quality.name,
                "credits": float(quality.multiplier),
                "width": quality.size[0],
                "height": quality.size[1],
                "renderer": renderer,
                "placesScenes": RENDERERS[renderer].places_scenes,
            }
        )
    zones: dict[str, list[str]] = {}
    for category, zone in CATEGORY_ZONES.items():
        zones.setdefault(zone, []).append(category)
    return {
        "qualities": qualities,
        "backgroundScenes": list(SCENE_NAMES),
        "looks": {
            "maxLooks": MAX_LOOKS,
            "minItems": MIN_LOOK_ITEMS,
            "maxItems": MAX_LOOK_ITEMS,
            "zones": zones,
        },
    }
