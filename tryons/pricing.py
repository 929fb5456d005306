"""What a try-on costs, in one place (seed 001 "Credit System", DESIGN.md "Credits").

Per item: 1 credit × quality multiplier × (1 − volume discount). The discount depends on how many items
the cart holds; an item's `quantity` never multiplies (one render shows the garment whatever the count).
Everything is Decimal: 5 hd items cost exactly 9.00, never 8.999999.
"""

from decimal import Decimal

from organizations.models import RENDER_QUALITIES

BASE_CREDITS = Decimal("1")
MAX_CART_ITEMS = 20
# One multiplier per quality, in RENDER_QUALITIES order (the one list of qualities); a quality added there
# without a price here fails at import.
QUALITY_MULTIPLIERS = dict(zip(RENDER_QUALITIES, (Decimal("1"), Decimal("2"), Decimal("4")), strict=True))
# (smallest item count, discount) from the largest tier down.
VOLUME_DISCOUNTS = (
    (20, Decimal("0.40")),
    (15, Decimal("0.30")),
    (10, Decimal("0.20")),
    (5, Decimal("0.10")),
    (1, Decimal("0")),
)
CENT = Decimal("0.01")


def volume_discount(item_count: int) -> Decimal:
    if not 1 <= item_count <= MAX_CART_ITEMS:
        raise ValueError(f"a cart holds 1 to {MAX_CART_ITEMS} items, not {item_count}")
    return next(discount for minimum, discount in VOLUME_DISCOUNTS if item_count >= minimum)


def item_price(*, quality: str, item_count: int) -> Decimal:
    """Credits for one item of a cart of `item_count` items rendered at `quality`."""
    price = BASE_CREDITS * QUALITY_MULTIPLIERS[quality] * (1 - volume_discount(item_count))
    return price.quantize(CENT)


def cart_price(*, quality: str, item_count: int) -> Decimal:
    return (item_price(quality=quality, item_count=item_count) * item_count).quantize(CENT)


def single_tryon_price(*, quality: str) -> Decimal:
    return (BASE_CREDITS * QUALITY_MULTIPLIERS[quality]).quantize(CENT)
