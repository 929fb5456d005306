from decimal import Decimal

import pytest

from tryons import pricing
from tryons.qualities import multipliers_text

# Totals for the cart by item count and quality, straight from seed 001's tiers; a new quality adds its column
# (tests/architecture/test_vocabulary.py checks every declared quality has one, here and below).
CART_TOTALS = [
    (1, {"sd": "1", "hd": "2", "4k": "4"}),
    (2, {"sd": "2", "hd": "4", "4k": "8"}),
    (4, {"sd": "4", "hd": "8", "4k": "16"}),
    (5, {"sd": "4.5", "hd": "9", "4k": "18"}),
    (9, {"sd": "8.1", "hd": "16.2", "4k": "32.4"}),
    (10, {"sd": "8", "hd": "16", "4k": "32"}),
    (14, {"sd": "11.2", "hd": "22.4", "4k": "44.8"}),
    (15, {"sd": "10.5", "hd": "21", "4k": "42"}),
    (19, {"sd": "13.3", "hd": "26.6", "4k": "53.2"}),
    (20, {"sd": "12", "hd": "24", "4k": "48"}),
]
SINGLE_PRICES = {"sd": "1", "hd": "2", "4k": "4"}


@pytest.mark.parametrize(("count", "totals"), CART_TOTALS)
def test_cart_price_for_every_tier_and_quality(count, totals):
    assert totals
    for quality, total in totals.items():
        assert pricing.cart_price(quality=quality, item_count=count) == Decimal(total)


def test_seed_example_two_hd_items_cost_four_credits():
    assert pricing.cart_price(quality="hd", item_count=2) == Decimal("4.00")


def test_item_price_is_exact_decimal():
    price = pricing.item_price(quality="hd", item_count=5)
    assert price == Decimal("1.80")
    assert isinstance(price, Decimal)


@pytest.mark.parametrize("count", [0, 21, -1])
def test_cart_outside_one_to_twenty_items_has_no_price(count):
    with pytest.raises(ValueError):
        pricing.cart_price(quality="sd", item_count=count)


@pytest.mark.parametrize(("quality", "credits"), SINGLE_PRICES.items())
def test_single_tryon_costs_the_multiplier(quality, credits):
    assert pricing.single_tryon_price(quality=quality) == Decimal(credits)


def test_the_documented_price_text_states_the_tiers_and_multipliers():
    assert pricing.volume_discounts_text() == "5–9 items 10 %, 10–14 20 %, 15–19 30 %, 20 40 %"
    assert multipliers_text() == "sd 1, hd 2, 4k 4"
