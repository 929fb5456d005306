"""What this deployment renders for a key, as GET /v1/account shows it (`renderCapabilities`): each quality
with its price, size and renderer in the key's mode and how that renderer serves the render controls, the
background scenes and which qualities place them, the controls' choices, and what a look may hold.
Registered with apikeys in TryonsConfig.ready (keys sit below try-ons)."""

from rest_framework import serializers

from tryons.controls import (
    CONTROL_SUPPORT,
    FORMAT_SUPPORT,
    GARMENT_PHOTO_TYPES,
    MAX_SAMPLES,
    OUTPUT_FORMATS,
    control_support,
)
from tryons.engines import engine_settings
from tryons.engines.selection import renderer_for
from tryons.looks import CATEGORY_ZONES, MAX_LOOK_ITEMS, MAX_LOOKS, MIN_LOOK_ITEMS
from tryons.models import TryOn
from tryons.qualities import QUALITIES
from tryons.renderers.registry import RENDERERS, renderer_honours
from tryons.scenes import SCENE_NAMES


class ControlSupportSerializer(serializers.Serializer):
    """How the quality's renderer serves each render control: natively, by us (emulated: samples rendered
    one by one; converted: a format), or not at all (ignored; the item's engineNotes say so)."""

    garmentPhotoType = serializers.ChoiceField(choices=CONTROL_SUPPORT)
    seed = serializers.ChoiceField(choices=CONTROL_SUPPORT)
    numSamples = serializers.ChoiceField(choices=CONTROL_SUPPORT)
    outputFormat = serializers.DictField(
        child=serializers.ChoiceField(choices=FORMAT_SUPPORT),
        help_text="Each output format: answered by the renderer itself, or converted by us.",
    )


class ControlsCapabilitySerializer(serializers.Serializer):
    garmentPhotoTypes = serializers.ListField(child=serializers.CharField())
    maxSamples = serializers.IntegerField()
    outputFormats = serializers.ListField(child=serializers.CharField())


class QualityCapabilitySerializer(serializers.Serializer):
    name = serializers.CharField()
    credits = serializers.FloatField(help_text="Credits per render before the volume discount.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    renderer = serializers.CharField(help_text="What renders it for this key now (test keys: local).")
    placesScenes = serializers.BooleanField(
        help_text="Whether that renderer puts backgroundScene behind the shopper."
    )
    controls = ControlSupportSerializer()


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
    controls = ControlsCapabilitySerializer(help_text="The render controls a cart or an item may set.")
    looks = LookCapabilitySerializer()


_FASHN_EXAMPLE = {
    "garmentPhotoType": "native",
    "seed": "native",
    "numSamples": "emulated",
    "outputFormat": {"jpeg": "native", "png": "native", "webp": "converted"},
}
EXAMPLE = {
    "qualities": [
        {
            "name": "sd",
            "credits": 1.0,
            "width": 576,
            "height": 864,
            "renderer": "fashn",
            "placesScenes": False,
            "controls": _FASHN_EXAMPLE,
        },
        {
            "name": "hd",
            "credits": 2.0,
            "width": 768,
            "height": 1024,
            "renderer": "fashn",
            "placesScenes": False,
            "controls": _FASHN_EXAMPLE,
        },
        {
            "name": "4k",
            "credits": 4.0,
            "width": 1536,
            "height": 2048,
            "renderer": "fashn",
            "placesScenes": False,
            "controls": _FASHN_EXAMPLE,
        },
    ],
    "backgroundScenes": ["original", "studio", "white"],
    "controls": {
        "garmentPhotoTypes": ["auto", "flat-lay", "model"],
        "maxSamples": 4,
        "outputFormats": ["jpeg", "png", "webp"],
    },
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


def _model(renderer: str) -> str:
    """The model a hosted engine renders with now; "" for the other renderers."""
    return engine_settings().model(renderer) if RENDERERS[renderer].engine else ""


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
                "controls": control_support(renderer_honours(renderer, _model(renderer))),
            }
        )
    zones: dict[str, list[str]] = {}
    for category, zone in CATEGORY_ZONES.items():
        zones.setdefault(zone, []).append(category)
    return {
        "qualities": qualities,
        "backgroundScenes": list(SCENE_NAMES),
        "controls": {
            "garmentPhotoTypes": list(GARMENT_PHOTO_TYPES),
            "maxSamples": MAX_SAMPLES,
            "outputFormats": list(OUTPUT_FORMATS),
        },
        "looks": {
            "maxLooks": MAX_LOOKS,
            "minItems": MIN_LOOK_ITEMS,
            "maxItems": MAX_LOOK_ITEMS,
            "zones": zones,
        },
    }
