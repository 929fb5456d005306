"""What a try-on costs, in one place (seed 001 "Credit System", DESIGN.md "Credits").

Per render: 1 credit × quality multiplier (tryons.qualities) × (1 − volume discount). The discount depends
on how many items the cart holds; an item's `quantity` never multiplies (one render shows the garment
whatever the count), its `numSamples` does (each sample is a render), and so do a look's garments.
Everything is Decimal: 5 hd items cost exactly 9.00, never 8.999999.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from organizations.models import CENT
from tryons.qualities import QUALITIES

BASE_CREDITS = Decimal("1")
MAX_CART_ITEMS = 20
# (smallest item count, discount) from the largest tier down.
VOLUME_DISCOUNTS = (
    (20, Decimal("0.40")),
    (15, Decimal("0.30")),
    (10, Decimal("0.20")),
    (5, Decimal("0.10")),
    (1, Decimal("0")),
)


def volume_discount(item_count: int) -> Decimal:
    if not 1 <= item_count <= MAX_CART_ITEMS:
        raise ValueError(f"a cart holds 1 to {MAX_CART_ITEMS} items, not {item_count}")
    return next(discount for minimum, discount in VOLUME_DISCOUNTS if item_count >= minimum)


def volume_discounts_text() -> str:
    """ "5–9 items 10 %, 10–14 20 %, ...": the discount tiers as the API documentation states them."""
    tiers = sorted(VOLUME_DISCOUNTS)
    largest = [minimum - 1 for minimum, _ in tiers[1:]] + [MAX_CART_ITEMS]
    parts = []
    for (minimum, discount), maximum in zip(tiers, largest, strict=True):
        if discount:
            counts = f"{minimum}–{maximum}" if maximum > minimum else f"{minimum}"
            parts.append(f"{counts}{'' if parts else ' items'} {discount * 100:.0f} %")
    return ", ".join(parts)


def item_price(*, quality: str, item_count: int) -> Decimal:
    """Credits for one item of a cart of `item_count` items rendered at `quality`."""
    price = BASE_CREDITS * QUALITIES[quality].multiplier * (1 - volume_discount(item_count))
    return price.quantize(CENT)


def cart_price(*, quality: str, item_count: int) -> Decimal:
    return (item_price(quality=quality, item_count=item_count) * item_count).quantize(CENT)


@dataclass(frozen=True)
class CartPricing:
    """A cart's price as the partner sees it broken down: every render costs `per_render` (the quality's
    credits less the cart's volume `discount`); the items alone take `item_renders` (a render per sample), the
    looks `look_renders`."""

    per_render: Decimal
    discount: Decimal
    item_renders: int
    look_renders: int

    @property
    def total(self) -> Decimal:
        return (self.per_render * (self.item_renders + self.look_renders)).quantize(CENT)


def look_renders(look_sizes: Sequence[int], *, render_items: bool) -> int:
    """Renders the looks need: one per garment, put on one after the other, less the first garment's when
    the cart renders that garment alone anyway (its result is the look's first step)."""
    return sum(size - 1 if render_items else size for size in look_sizes)


def cart_pricing(
    *,
    quality: str,
    item_count: int,
    samples: Sequence[int] = (),
    look_sizes: Sequence[int] = (),
    render_items: bool = True,
) -> CartPricing:
    """What a cart of `item_count` items costs at `quality`, its items with `samples` samples each (one
    each when not given), with looks of `look_sizes` garments. The discount counts items, not samples."""
    return CartPricing(
        per_render=item_price(quality=quality, item_count=item_count),
        discount=volume_discount(item_count),
        item_renders=(sum(samples) if samples else item_count) if render_items else 0,
        look_renders=look_renders(look_sizes, render_items=render_items),
    )


def single_tryon_price(*, quality: str) -> Decimal:
    return (BASE_CREDITS * QUALITIES[quality].multiplier).quantize(CENT)
