"""Looks as a partner asks for them: one garment per body zone, put on inside out, named by the cart's own
product ids (or "auto"); and what a cart with looks costs."""

from decimal import Decimal

import pytest

from api.errors import ValidationError
from tryons import pricing
from tryons.inputs import GarmentInput
from tryons.looks import CATEGORY_ZONES, MAX_LOOKS, ZONES, Look, auto_look, looks_resolve
from tryons.models import CATEGORIES
from tryons.qualities import QUALITIES


def cart(*categories: str, products=None) -> list[GarmentInput]:
    products = products or [f"prod_{n}" for n in range(len(categories))]
    return [
        GarmentInput(product_id=product, image_url=f"https://shop.example/{n}.png", category=category)
        for n, (product, category) in enumerate(zip(products, categories, strict=True))
    ]


def test_every_category_dresses_a_declared_zone():
    assert set(CATEGORY_ZONES) == set(CATEGORIES)
    assert set(CATEGORY_ZONES.values()) == set(ZONES)
    for zone in ZONES.values():
        assert set(zone.excludes) <= set(ZONES) - {zone.name}


@pytest.mark.parametrize(
    ("categories", "asked", "worn"),
    [
        (("tops", "bottoms"), ["prod_0", "prod_1"], (1, 0)),
        (("outerwear", "tops", "bottoms"), ["prod_0", "prod_1", "prod_2"], (2, 1, 0)),
        (("dresses", "outerwear"), ["prod_1", "prod_0"], (0, 1)),
        (("tops", "outerwear", "bottoms", "dresses"), ["prod_1", "prod_0", "prod_2"], (2, 0, 1)),
        (("one-pieces", "outerwear", "tops"), ["prod_1", "prod_0"], (0, 1)),
    ],
)
def test_a_looks_garments_are_put_on_inside_out(categories, asked, worn):
    (look,) = looks_resolve([{"items": asked}], cart(*categories))
    assert look == Look(look_id="look-1", positions=worn)


@pytest.mark.parametrize(
    ("categories", "asked", "says"),
    [
        (("tops", "tops"), ["prod_0", "prod_1"], "both dress the upper zone"),
        (("dresses", "tops"), ["prod_0", "prod_1"], "covers the upper zone"),
        (("bottoms", "one-pieces"), ["prod_0", "prod_1"], "covers the lower zone"),
        (("tops", "bottoms"), ["prod_0", "prod_9"], "names no item of this cart"),
        (("tops", "bottoms"), ["prod_0", "prod_0"], "the same cart item twice"),
    ],
)
def test_a_look_that_cannot_be_worn_is_refused_naming_the_conflict(categories, asked, says):
    with pytest.raises(ValidationError) as refused:
        looks_resolve([{"items": ["prod_1"]}, {"items": asked}], cart(*categories))
    assert says in refused.value.message
    assert any(key.startswith("looks[1].items") for key in refused.value.details)


def test_a_product_in_the_cart_twice_is_named_with_its_variant():
    garments = [
        GarmentInput(
            product_id="tee", variant_id="red", image_url="https://s.example/r.png", category="tops"
        ),
        GarmentInput(
            product_id="tee", variant_id="blue", image_url="https://s.example/b.png", category="tops"
        ),
        GarmentInput(product_id="jeans", image_url="https://s.example/j.png", category="bottoms"),
    ]
    with pytest.raises(ValidationError, match="more than once"):
        looks_resolve([{"items": ["tee", "jeans"]}], garments)
    (look,) = looks_resolve([{"items": [{"productId": "tee", "variantId": "blue"}, "jeans"]}], garments)
    assert look.positions == (2, 1)


def test_look_ids_are_the_partners_or_generated_around_them():
    garments = cart("tops", "bottoms", "dresses", "outerwear")
    looks = looks_resolve(
        [
            {"items": ["prod_0", "prod_1"]},
            {"lookId": "look-1", "items": ["prod_2", "prod_3"]},
            {"lookId": "weekend", "items": ["prod_0", "prod_1", "prod_3"]},
        ],
        garments,
    )
    assert [look.look_id for look in looks] == ["look-2", "look-1", "weekend"]
    with pytest.raises(ValidationError, match="its own lookId"):
        looks_resolve([{"lookId": "a", "items": ["prod_0", "prod_1"]}] * 2, garments)


def test_at_most_five_looks():
    garments = cart("tops", "bottoms")
    assert len(looks_resolve([{"items": ["prod_0", "prod_1"]}] * MAX_LOOKS, garments)) == MAX_LOOKS
    with pytest.raises(ValidationError, match="At most 5 looks"):
        looks_resolve([{"items": ["prod_0", "prod_1"]}] * (MAX_LOOKS + 1), garments)


@pytest.mark.parametrize(
    ("categories", "worn"),
    [
        (("tops", "dresses", "outerwear", "one-pieces"), (1, 2)),  # the first dress, plus outerwear
        (("tops", "tops", "bottoms"), (2, 0)),  # the first top and the first bottoms
        (("outerwear", "bottoms", "tops", "outerwear"), (1, 2, 0)),
        (("tops", "tops"), ()),  # no look: a top alone is not one
        (("dresses",), ()),
    ],
)
def test_auto_builds_the_carts_first_outfit(categories, worn):
    assert auto_look(cart(*categories)) == worn


def test_auto_on_a_cart_with_no_outfit_is_refused():
    with pytest.raises(ValidationError, match='"auto" needs'):
        looks_resolve("auto", cart("tops", "tops"))
    assert looks_resolve("auto", cart("bottoms", "tops")) == [Look("look-1", (0, 1))]


@pytest.mark.parametrize("quality", list(QUALITIES))
@pytest.mark.parametrize("items", [1, 4, 5, 9, 10, 14, 15, 19, 20])
def test_the_price_is_one_per_render_price_times_every_render(quality, items):
    per_render = pricing.item_price(quality=quality, item_count=items)
    assert per_render == (QUALITIES[quality].multiplier * (1 - pricing.volume_discount(items))).quantize(
        Decimal("0.01")
    )
    # Items alone, as before looks: the price is unchanged.
    assert pricing.cart_pricing(quality=quality, item_count=items).total == pricing.cart_price(
        quality=quality, item_count=items
    )
    # Three looks of 2, 3 and 4 garments: each garment one render, less the first one the items render.
    with_items = pricing.cart_pricing(quality=quality, item_count=items, look_sizes=(2, 3, 4))
    assert (with_items.item_renders, with_items.look_renders) == (items, 1 + 2 + 3)
    assert with_items.total == per_render * (items + 6)
    looks_only = pricing.cart_pricing(
        quality=quality, item_count=items, look_sizes=(2, 3, 4), render_items=False
    )
    assert (looks_only.item_renders, looks_only.look_renders) == (0, 9)
    assert looks_only.total == per_render * 9
    assert looks_only.discount == pricing.volume_discount(items)
