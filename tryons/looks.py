"""Looks: several of a cart's garments on the shopper in one image.

A look is dressed inside out, one garment per body zone: a dress or one-piece (the full zone, which rules
out a top and bottoms) or bottoms first, then a top, then outerwear over the rest. This module declares the
zones once and turns what a partner asks for — looks naming cart items, or "auto" — into each look's
garments in the order they are put on, or a ValidationError naming the conflict. Pure: no database.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from api.errors import ValidationError
from tryons.inputs import GarmentInput


@dataclass(frozen=True)
class Zone:
    name: str
    # When a garment of this zone is put on, inside out: the full zone and bottoms first, outerwear last.
    layer: int
    # Zones a garment of this one leaves no room for in the same look.
    excludes: tuple[str, ...] = ()


ZONES = {
    zone.name: zone
    for zone in (
        Zone("full", 0, excludes=("upper", "lower")),
        Zone("lower", 0),
        Zone("upper", 1),
        Zone("outer", 2),
    )
}
# The zone each garment category (tryons.models.CATEGORIES) dresses.
CATEGORY_ZONES = {
    "tops": "upper",
    "bottoms": "lower",
    "dresses": "full",
    "one-pieces": "full",
    "outerwear": "outer",
}

MAX_LOOKS = 5
MIN_LOOK_ITEMS, MAX_LOOK_ITEMS = 2, 4
LOOK_ID_MAX_LENGTH = 64
AUTO = "auto"


@dataclass(frozen=True)
class Look:
    look_id: str
    # The cart positions (0-based) of its garments, in the order they are put on.
    positions: tuple[int, ...]


def zone_of(garment: GarmentInput) -> str:
    return CATEGORY_ZONES[garment.category]


def dressing_order(positions: Sequence[int], garments: Sequence[GarmentInput]) -> tuple[int, ...]:
    """`positions` in the order their garments are put on (inside out); the cart's order breaks no tie,
    since a look holds one garment per zone and the zones of one layer exclude each other."""
    return tuple(sorted(positions, key=lambda position: ZONES[zone_of(garments[position])].layer))


def zone_conflict(positions: Sequence[int], garments: Sequence[GarmentInput]) -> str:
    """Why these garments cannot be worn together ("" when they can)."""
    taken: dict[str, int] = {}
    for position in positions:
        zone = zone_of(garments[position])
        if zone in taken:
            return (
                f"items {taken[zone]} and {position} both dress the {zone} zone: a look holds one garment "
                "per zone"
            )
        taken[zone] = position
    for zone, position in taken.items():
        for excluded in ZONES[zone].excludes:
            if excluded in taken:
                return (
                    f"item {position} ({garments[position].category}) covers the {excluded} zone that item "
                    f"{taken[excluded]} ({garments[taken[excluded]].category}) dresses"
                )
    return ""


def auto_look(garments: Sequence[GarmentInput]) -> tuple[int, ...]:
    """The look "auto" builds: the cart's first dress or one-piece, else its first top and first bottoms;
    plus its first outerwear. Empty when that makes fewer than two garments."""

    def first(zone: str) -> list[int]:
        return next(([p] for p, garment in enumerate(garments) if zone_of(garment) == zone), [])

    base = first("full") or first("upper") + first("lower")
    positions = base + first("outer")
    return dressing_order(positions, garments) if len(positions) >= MIN_LOOK_ITEMS else ()


def looks_resolve(requested, garments: Sequence[GarmentInput]) -> list[Look]:
    """The looks a request asks for, against its cart: `requested` is "auto" or a list of
    {"lookId"?, "items": [productId or {"productId", "variantId"}]} (shapes already checked by the
    serializer). Raises ValidationError naming the look and the conflict."""
    if requested == AUTO:
        positions = auto_look(garments)
        if not positions:
            raise ValidationError(
                'looks: "auto" needs a dress or one-piece, or a top and bottoms (outerwear may be added): '
                "this cart has neither",
                details={"looks": ["No look can be built from this cart."]},
            )
        return [Look(look_id="look-1", positions=positions)]
    if len(requested) > MAX_LOOKS:
        raise ValidationError(
            f"At most {MAX_LOOKS} looks per cart.", details={"looks": [f"Ensure at most {MAX_LOOKS} looks."]}
        )
    given = [look.get("lookId") for look in requested if look.get("lookId")]
    if len(set(given)) != len(given):
        raise ValidationError(
            "Each look needs its own lookId.", details={"looks": ["lookId values must be unique."]}
        )
    looks, taken_ids = [], set(given)
    for index, look in enumerate(requested):
        field = f"looks[{index}].items"
        positions = [
            _position(reference, garments, f"{field}[{n}]") for n, reference in enumerate(look["items"])
        ]
        if len(set(positions)) != len(positions):
            raise ValidationError(
                f"{field} names the same cart item twice.", details={field: ["Each item may appear once."]}
            )
        if conflict := zone_conflict(positions, garments):
            raise ValidationError(f"{field}: {conflict}.", details={field: [conflict]})
        look_id = look.get("lookId") or _free_id(taken_ids)
        taken_ids.add(look_id)
        looks.append(Look(look_id=look_id, positions=dressing_order(positions, garments)))
    return looks


def _position(reference, garments: Sequence[GarmentInput], field: str) -> int:
    if isinstance(reference, str):
        product_id, variant_id = reference, None
    else:
        product_id, variant_id = reference["productId"], reference.get("variantId") or ""
    matches = [
        position
        for position, garment in enumerate(garments)
        if garment.product_id == product_id and (variant_id is None or garment.variant_id == variant_id)
    ]
    if not matches:
        raise ValidationError(
            f"{field} names no item of this cart.", details={field: ["No cart item has this productId."]}
        )
    if len(matches) > 1:
        raise ValidationError(
            f"{field}: the cart holds this product more than once; name it as {{productId, variantId}}.",
            details={field: ["Ambiguous: add the variantId."]},
        )
    return matches[0]


def _free_id(taken: set[str]) -> str:
    return next(f"look-{n}" for n in range(1, MAX_LOOKS + len(taken) + 2) if f"look-{n}" not in taken)
