"""Try-on serializers by concept: creation (what partners send), results (what they read back), events
(webhook event data, from the same fields as the results) and callback (the signed render callback).

Re-exported here for callers outside tryons; modules inside tryons import the module that defines a name.
"""

from tryons.serializers.callback import RenderCallbackResponseSerializer, RenderCallbackSerializer
from tryons.serializers.creation import (
    CartItemListSerializer,
    CartItemSerializer,
    CartTryOnCreateSerializer,
    GarmentSerializer,
    PriceField,
    TryOnCreateSerializer,
)
from tryons.serializers.events import (
    CancellationSerializer,
    CartTryOnCancelledEventDataSerializer,
    CartTryOnEventDataSerializer,
    TryOnEventDataSerializer,
)
from tryons.serializers.fields import BlankAsNullCharField
from tryons.serializers.items import CartItemResultSerializer
from tryons.serializers.results import (
    CartTryOnSessionSerializer,
    TryOnSerializer,
    external_id_field,
)

__all__ = [
    "BlankAsNullCharField",
    "CancellationSerializer",
    "CartItemListSerializer",
    "CartItemResultSerializer",
    "CartItemSerializer",
    "CartTryOnCancelledEventDataSerializer",
    "CartTryOnCreateSerializer",
    "CartTryOnEventDataSerializer",
    "CartTryOnSessionSerializer",
    "GarmentSerializer",
    "PriceField",
    "RenderCallbackResponseSerializer",
    "RenderCallbackSerializer",
    "TryOnCreateSerializer",
    "TryOnEventDataSerializer",
    "TryOnSerializer",
    "external_id_field",
]
