"""Looks over the API: what a partner sends (and every way it can be wrong: a 400 in the seed's error format
that charges nothing), what the session answers (looks, pricing), and that both serializer paths agree."""

from decimal import Decimal

import pytest

from organizations.models import CreditLedgerEntry, Organization
from tryons.models import CartTryOnSession
from tryons.selectors import cart_session_get
from tryons.serializers.results import CartTryOnSessionSerializer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


def _items():
    return [
        {
            "productId": "tee",
            "variantId": "red",
            "imageUrl": "https://shop.example/tee-red.png",
            "category": "tops",
        },
        {
            "productId": "tee",
            "variantId": "blue",
            "imageUrl": "https://shop.example/tee-blue.png",
            "category": "tops",
        },
        {"productId": "jeans", "imageUrl": "https://shop.example/jeans.png", "category": "bottoms"},
        {"productId": "parka", "imageUrl": "https://shop.example/parka.png", "category": "outerwear"},
    ]


@pytest.fixture
def post_cart(organization, photo_of, partner_client):
    client = partner_client(organization)
    photo = photo_of(organization)

    def post(cart_id="cart_1", **fields):
        body = {"cartId": cart_id, "customerPhotoS3Key": photo.storage_key, "renderQuality": "sd"}
        body.setdefault("cartItems", _items())
        return client.post("/api/v1/cart-tryons", {**body, **fields}, format="json")

    return post


def test_a_cart_with_looks_answers_them_with_the_price_broken_down(post_cart, organization):
    balance = Organization.objects.get(pk=organization.id).credits
    answer = post_cart(
        looks=[
            {"lookId": "weekend", "items": [{"productId": "tee", "variantId": "blue"}, "jeans", "parka"]},
            {"items": [{"productId": "tee", "variantId": "red"}, "jeans"]},
        ]
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    # 4 items alone, then (3 − 1) + (2 − 1) look renders: 7 renders at 1 credit (sd, no discount below 5).
    assert body["pricing"] == {"itemRenders": 4, "lookRenders": 3, "perRender": 1, "discount": 0}
    assert body["creditsRequired"] == 7 and body["renderItems"] is True
    assert Organization.objects.get(pk=organization.id).credits == balance - 7
    weekend, second = body["looks"]
    assert weekend["lookId"] == "weekend" and second["lookId"] == "look-1"
    assert weekend["items"] == [
        {"productId": "jeans", "variantId": None},
        {"productId": "tee", "variantId": "blue"},
        {"productId": "parka", "variantId": None},
    ], "in the order they are put on"
    assert (weekend["status"], weekend["resultUrl"], weekend["creditsCharged"]) == ("queued", None, 2)
    session = cart_session_get(organization_id=organization.id, session_id=body["id"])
    assert CartTryOnSessionSerializer(session).data == body, "a poll reads what the create answered"


def test_the_declared_fields_and_the_written_out_answer_agree_for_a_cart_with_looks(post_cart, organization):
    from tests.tryons.test_serializers import _SessionFieldByField

    body = post_cart(looks="auto", renderItems=False).json()
    session = cart_session_get(organization_id=organization.id, session_id=body["id"])
    walked = _SessionFieldByField(session).data
    written = CartTryOnSessionSerializer(session).data
    assert walked["looks"] == written["looks"] and walked["pricing"] == written["pricing"]
    assert written["pricing"] == {"itemRenders": 0, "lookRenders": 3, "perRender": 1, "discount": 0}
    assert [item["status"] for item in written["cartItems"]] == ["skipped"] * 4


def test_a_replayed_create_with_the_same_looks_charges_once_and_other_looks_are_another_cart(post_cart):
    looks = [{"items": ["jeans", "parka"]}]
    first = post_cart(looks=looks).json()
    again = post_cart(looks=looks).json()
    other = post_cart(looks=[{"items": ["jeans", {"productId": "tee", "variantId": "red"}]}]).json()
    assert again["id"] == first["id"] and other["id"] != first["id"]
    assert CreditLedgerEntry.objects.filter(reference=first["id"]).count() == 1


@pytest.mark.parametrize(
    ("looks", "says"),
    [
        ([{"items": ["tee", "jeans"]}], "more than once"),
        ([{"items": ["jeans", "shorts"]}], "names no item"),
        (
            [
                {
                    "items": [
                        {"productId": "tee", "variantId": "red"},
                        {"productId": "tee", "variantId": "blue"},
                    ]
                }
            ],
            "upper zone",
        ),
        ([{"items": ["jeans"]}], "at least 2"),
        ([{"items": ["jeans", "parka", "jeans", "parka", "jeans"]}], "no more than 4"),
        ([{"items": ["jeans", "parka"]}] * 6, "at most 5"),
        ([{"lookId": "x" * 65, "items": ["jeans", "parka"]}], "64"),
        ([{"lookId": "a\nb", "items": ["jeans", "parka"]}], ""),
        ([{"items": ["jeans", 7]}], "productId"),
        ([{"items": ["jeans", {"sku": "parka"}]}], "productId"),
        ("everything", '"auto"'),
        ({"items": ["jeans", "parka"]}, '"auto"'),
        (
            [{"lookId": "a", "items": ["jeans", "parka"]}, {"lookId": "a", "items": ["jeans", "parka"]}],
            "unique",
        ),
    ],
)
def test_a_look_that_cannot_be_is_a_400_naming_it_and_charges_nothing(post_cart, organization, looks, says):
    balance = Organization.objects.get(pk=organization.id).credits
    answer = post_cart(looks=looks)
    assert answer.status_code == 400, answer.json()
    body = answer.json()
    assert body["error"] == "ValidationError" and body["code"] == 400
    assert says in str(body)
    assert Organization.objects.get(pk=organization.id).credits == balance
    assert not CartTryOnSession.objects.filter(organization=organization).exists()


def test_render_items_false_without_looks_is_refused(post_cart):
    answer = post_cart(renderItems=False)
    assert answer.status_code == 400 and "renderItems" in answer.json()["details"]


def test_auto_on_a_cart_without_an_outfit_is_refused(post_cart):
    answer = post_cart(looks="auto", cartItems=_items()[:2])
    assert answer.status_code == 400 and '"auto" needs' in answer.json()["message"]


def test_looks_are_priced_with_the_carts_volume_discount(post_cart):
    items = [
        {
            "productId": f"p{n}",
            "imageUrl": f"https://shop.example/{n}.png",
            "category": "tops" if n % 2 else "bottoms",
        }
        for n in range(10)
    ]
    body = post_cart(cartItems=items, looks=[{"items": ["p0", "p1"]}]).json()
    assert body["pricing"] == {"itemRenders": 10, "lookRenders": 1, "perRender": 0.8, "discount": 0.2}
    assert Decimal(str(body["creditsRequired"])) == Decimal("8.80")
