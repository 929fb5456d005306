from decimal import Decimal

import pytest

from tryons import pricing

# (item count, sd, hd, 4k) totals for the cart, straight from seed 001's tiers.
CART_TOTALS = [
    (1, "1", "2", "4"),
    (2, "2", "4", "8"),
    (4, "4", "8", "16"),
    (5, "4.5", "9", "18"),
    (9, "8.1", "16.2", "32.4"),
    (10, "8", "16", "32"),
    (14, "11.2", "22.4", "44.8"),
    (15, "10.5", "21", "42"),
    (19, "13.3", "26.6", "53.2"),
    (20, "12", "24", "48"),
]


@pytest.mark.parametrize(("count", "sd", "hd", "uhd"), CART_TOTALS)
def test_cart_price_for_every_tier_and_quality(count, sd, hd, uhd):
    assert pricing.cart_price(quality="sd", item_count=count) == Decimal(sd)
    assert pricing.cart_price(quality="hd", item_count=count) == Decimal(hd)
    assert pricing.cart_price(quality="4k", item_count=count) == Decimal(uhd)


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


@pytest.mark.parametrize(("quality", "credits"), [("sd", "1"), ("hd", "2"), ("4k", "4")])
def test_single_tryon_costs_the_multiplier(quality, credits):
    assert pricing.single_tryon_price(quality=quality) == Decimal(credits)
