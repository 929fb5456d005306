"""The cart serializers write their hot paths out by hand (issue 19); they must say what their declared
fields say: items taken by the plain-item path validate to what DRF's walk gives, anything else gets DRF's
own errors, and the written-out representations equal DRF's walk over the declared fields."""

import pytest
from django.utils import timezone
from rest_framework import serializers

from customers.models import Customer
from tests.tryons.conftest import cart_item
from tryons.models import CartTryOnSession, TryOn
from tryons.selectors import cart_session_get
from tryons.serializers import CartItemResultSerializer, CartItemSerializer, CartTryOnSessionSerializer

pytestmark = pytest.mark.django_db

URL = "https://cdn.example.com/garments/1.jpg"


class _ItemFieldByField(CartItemSerializer):
    def to_internal_value(self, data):
        return serializers.Serializer.to_internal_value(self, data)


class _ResultFieldByField(CartItemResultSerializer):
    def to_representation(self, tryon):
        return serializers.Serializer.to_representation(self, tryon)


class _SessionFieldByField(CartTryOnSessionSerializer):
    def to_representation(self, session):
        return serializers.Serializer.to_representation(self, session)


def _validated(serializer_class, item):
    serializer = serializer_class(data=item)
    return (serializer.validated_data if serializer.is_valid() else None), serializer.errors


def _variant(**changes):
    item = cart_item(URL)
    for key, value in changes.items():
        if value is _MISSING:
            item.pop(key)
        else:
            item[key] = value
    return item


_MISSING = object()

ITEMS = [
    _variant(),
    _variant(variantId=_MISSING, name=_MISSING, quantity=_MISSING, price=_MISSING, currency=_MISSING),
    _variant(variantId="", name="", currency=""),
    _variant(variantId=None),
    _variant(price=None),
    _variant(price=29.990000000000002),
    _variant(price="8e173"),
    _variant(price=-1),
    _variant(price="abc"),
    _variant(productId=" padded "),
    _variant(productId=""),
    _variant(productId="   "),
    _variant(productId=None),
    _variant(productId=123),
    _variant(productId="x" * 256),
    _variant(productId="nul\x00"),
    _variant(productId=_MISSING),
    _variant(name="n" * 500),
    _variant(name="n" * 501),
    _variant(imageUrl="http://cdn.example.com/a.jpg"),
    _variant(imageUrl="https://10.0.0.1/a.jpg"),
    _variant(imageUrl="https://user:pw@cdn.example.com/a.jpg"),
    _variant(imageUrl="not a url"),
    _variant(imageUrl=" https://cdn.example.com/a.jpg "),
    _variant(imageUrl="https://" + "a" * 2048 + ".com/"),
    _variant(category="hats"),
    _variant(category=["tops"]),
    _variant(quantity=0),
    _variant(quantity=10_001),
    _variant(quantity=True),
    _variant(quantity="3"),
    _variant(quantity=2.0),
    _variant(currency="usd"),
    _variant(currency="EURO"),
    _variant(currency=" EUR"),
    _variant(extra="ignored"),
    ["not", "an", "object"],
    "text",
]


@pytest.mark.parametrize("item", ITEMS)
def test_a_cart_item_validates_as_the_declared_fields_say(item):
    assert _validated(CartItemSerializer, item) == _validated(_ItemFieldByField, item)


def test_plainly_valid_items_take_the_plain_path():
    assert CartItemSerializer()._plain_item(cart_item(URL)) is not None
    assert CartItemSerializer()._plain_item(_variant(productId=" padded ")) is None


@pytest.fixture
def session(make_cart_session, garment_server):
    return make_cart_session([garment_server.url(f"/{n}.png") for n in range(3)])


def _items_in_every_state(session):
    queued, completed, failed = session.items.order_by("position")
    TryOn.objects.filter(pk=completed.pk).update(
        status="completed", result_key="enterprise/r.jpg", render_ms=1200, renderer="local",
        completed_at=timezone.now(), variant_id="",
    )  # fmt: skip
    TryOn.objects.filter(pk=failed.pk).update(
        status="failed", error_code="garment_unreachable", error="404", credits_refunded=failed.credits
    )
    return cart_session_get(organization_id=session.organization_id, session_id=session.id)


def test_the_written_out_representations_match_the_declared_fields(session, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    for instance in (session, _items_in_every_state(session)):
        written_out = CartTryOnSessionSerializer(instance).data
        walked = _SessionFieldByField(instance).data
        walked["cartItems"] = [
            _ResultFieldByField(item).data for item in instance.items.order_by("position", "sample")
        ]

        assert _without_signatures(written_out) == _without_signatures(walked)
        assert list(written_out) == list(CartTryOnSessionSerializer().fields)
        assert list(written_out["cartItems"][0]) == list(CartItemResultSerializer().fields)


def test_a_session_whose_customer_was_erased_reads_with_a_null_external_id(session):
    Customer.objects.filter(pk=session.customer_id).delete()
    session = cart_session_get(organization_id=session.organization_id, session_id=session.id)

    assert CartTryOnSessionSerializer(session).data["externalId"] is None
    assert CartTryOnSessionSerializer(session).data == _SessionFieldByField(session).data


def test_the_create_answer_is_the_session_as_read_back(session):
    assert isinstance(session, CartTryOnSession)
    answered = CartTryOnSessionSerializer(session, context={"items": session.written_items}).data
    read_back = cart_session_get(organization_id=session.organization_id, session_id=session.id)

    assert answered == CartTryOnSessionSerializer(read_back).data
    assert [item.id for item in session.written_items] == [item.id for item in read_back.items.all()]


def test_a_created_session_still_reads_its_items_from_the_database(session):
    TryOn.objects.filter(session=session).update(status="processing")

    assert {item.status for item in session.items.all()} == {"processing"}


def _without_signatures(data: dict) -> dict:
    # Signed result URLs carry an expiry minted per call: the object they point to is what must agree.
    items = [
        {**item, "resultUrl": item["resultUrl"] and item["resultUrl"].split("?")[0]}
        for item in data["cartItems"]
    ]
    return {**data, "cartItems": items}


def test_the_create_answer_over_http_is_what_a_poll_reads(organization, partner_client, photo_of):
    client = partner_client(organization)
    photo = photo_of(organization)
    body = {
        "cartId": "cart_answer",
        "customerPhotoS3Key": photo.storage_key,
        "cartItems": [cart_item(URL, n) for n in range(1, 4)],
        "renderQuality": "hd",
        "metadata": {"orderId": "order_789", "b": [1, 2], "a": {"nested": True}},
    }

    created = client.post("/api/v1/cart-tryons", body, format="json")
    polled = client.get(f"/api/v1/cart-tryons/{created.json()['id']}")
    replayed = client.post("/api/v1/cart-tryons", body, format="json")

    assert created.status_code == polled.status_code == replayed.status_code == 200
    assert created.json() == polled.json() == replayed.json()
