"""The OpenAPI document states the rules the API enforces: for each documented pattern, length and enum, a
value the schema accepts is accepted by the API, and one it rejects is refused with a ValidationError.

Clients validate with the schema before sending (and fuzzers generate from it): a schema looser than the
validation sends them into 400s, a stricter one makes them refuse values the API takes.
"""

import re
import socket

import pytest
from drf_spectacular.generators import SchemaGenerator
from openapi_schema_validator import OAS30Validator

from api.events import subscribable_event_names
from customers.models import Customer
from customers.serializers import EXTERNAL_ID_PATTERN
from tests.factories import make_photo_row
from tryons.models import CATEGORIES
from tryons.qualities import QUALITY_NAMES

pytestmark = pytest.mark.django_db

IMAGE = "https://shop.example.com/products/tshirt.jpg"


@pytest.fixture(scope="module")
def openapi():
    return SchemaGenerator().get_schema(request=None, public=True)


def schema_accepts(openapi, component: str, body: dict) -> bool:
    validator = OAS30Validator(
        {"components": openapi["components"], "$ref": f"#/components/schemas/{component}"}
    )
    return validator.is_valid(body)


def api_accepts(response, field: str) -> bool:
    if response.status_code in (200, 201):
        return True
    payload = response.json()
    assert response.status_code == 400 and payload["error"] == "ValidationError", payload
    assert field in payload["details"], payload  # refused for this field, not for something else
    return False


@pytest.fixture
def partner(organization, partner_client):
    return partner_client(organization)


@pytest.fixture
def photo_key(organization):
    customer = Customer.objects.create(organization=organization, external_id="shopper")
    return make_photo_row(customer, f"enterprise/org-{organization.id}/photos/photo_abc.jpg").storage_key


@pytest.fixture
def public_dns(monkeypatch):
    # Webhook URLs are resolved at creation; this sandbox has no DNS, so names resolve to a public address.
    monkeypatch.setattr(
        "infrastructure.public_addresses.socket.getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))],
    )


@pytest.mark.parametrize(
    "external_id",
    [
        "jane.doe",
        "cust-42@shop.example",
        "ünïcødé-客户",
        "x" * 255,
        "",
        "x" * 256,
        "a/b",
        "a?b",
        "a#b",
        "50%off",
        "two words",
        "tab\there",
        "nel\x85here",
        "ideographic\u3000space",
        "null\x00byte",
        "del\x7fete",
    ],
)
def test_external_id_schema_and_api_agree(openapi, partner, external_id):
    body = {"externalId": external_id}
    documented = schema_accepts(openapi, "CustomerUpsertRequest", body)
    accepted = api_accepts(partner.post("/api/v1/customers", body, format="json"), "externalId")
    assert documented == accepted


def test_external_id_schema_pattern_and_validation_agree_on_every_character(openapi):
    pattern = openapi["components"]["schemas"]["CustomerUpsertRequest"]["properties"]["externalId"]["pattern"]
    documented = re.compile(pattern)  # ECMAScript and Python read this pattern's escapes the same way
    disagreements = [
        hex(code)
        for code in range(0x10000)
        if not 0xD800 <= code <= 0xDFFF
        and bool(documented.match(chr(code))) != bool(EXTERNAL_ID_PATTERN.match(chr(code)))
    ]
    assert disagreements == []


def _cart(photo_key, items=1, **item):
    return {
        "cartId": "cart_schema",
        "customerPhotoS3Key": photo_key,
        "cartItems": [
            {"productId": f"p{n}", "imageUrl": IMAGE, "category": "tops", **item} for n in range(items)
        ],
    }


@pytest.mark.parametrize("items", [0, 1, 20, 21])
def test_cart_item_count_schema_and_api_agree(openapi, partner, photo_key, items):
    body = _cart(photo_key, items)
    documented = schema_accepts(openapi, "CartTryOnCreateRequest", body)
    accepted = api_accepts(partner.post("/api/v1/cart-tryons", body, format="json"), "cartItems")
    assert documented == accepted
    assert documented == (1 <= items <= 20)


@pytest.mark.parametrize(
    "image_url",
    [
        IMAGE,
        "HTTPS://shop.example.com/a.png",
        "http://shop.example.com/a.png",
        "ftp://shop.example.com/a.png",
        "https://" + "a" * 2048 + ".example/a.png",
    ],
)
def test_garment_url_schema_and_api_agree(openapi, partner, photo_key, image_url):
    body = _cart(photo_key, imageUrl=image_url)
    documented = schema_accepts(openapi, "CartTryOnCreateRequest", body)
    accepted = api_accepts(partner.post("/api/v1/cart-tryons", body, format="json"), "cartItems")
    assert documented == accepted


@pytest.mark.parametrize("category", [*CATEGORIES, "shoes", "Tops"])
def test_category_enum_schema_and_api_agree(openapi, partner, photo_key, category):
    body = _cart(photo_key, category=category)
    documented = schema_accepts(openapi, "CartTryOnCreateRequest", body)
    accepted = api_accepts(partner.post("/api/v1/cart-tryons", body, format="json"), "cartItems")
    assert documented == accepted == (category in CATEGORIES)


@pytest.mark.parametrize("quality", [*QUALITY_NAMES, "8k", "HD"])
def test_render_quality_enum_schema_and_api_agree(openapi, partner, photo_key, quality):
    body = {**_cart(photo_key), "renderQuality": quality}
    documented = schema_accepts(openapi, "CartTryOnCreateRequest", body)
    accepted = api_accepts(partner.post("/api/v1/cart-tryons", body, format="json"), "renderQuality")
    assert documented == accepted == (quality in QUALITY_NAMES)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.shop.example/garmax", "http://hooks.shop.example/garmax", "mailto:ops@shop.example"],
)
@pytest.mark.usefixtures("public_dns")
def test_webhook_url_schema_and_api_agree(openapi, partner, url):
    body = {"url": url, "events": [subscribable_event_names()[0]]}
    documented = schema_accepts(openapi, "WebhookCreateRequest", body)
    accepted = api_accepts(partner.post("/api/v1/webhooks", body, format="json"), "url")
    assert documented == accepted == url.startswith("https://")


@pytest.mark.parametrize("events", [[], ["tryon.completed"], ["webhook.test"], subscribable_event_names()])
@pytest.mark.usefixtures("public_dns")
def test_webhook_events_schema_and_api_agree(openapi, partner, events):
    body = {"url": "https://hooks.shop.example/garmax", "events": events}
    documented = schema_accepts(openapi, "WebhookCreateRequest", body)
    accepted = api_accepts(partner.post("/api/v1/webhooks", body, format="json"), "events")
    assert documented == accepted


@pytest.mark.parametrize("name", ["Acme Fashion", " Acme ", "", "   ", "\u3000\t", "x" * 200, "x" * 201])
def test_organization_name_schema_and_api_agree(openapi, jwt_client, owner, name):
    body = {"name": name}
    documented = schema_accepts(openapi, "OrganizationRequest", body)
    accepted = api_accepts(jwt_client(owner).post("/api/organizations", body, format="json"), "name")
    assert documented == accepted


@pytest.mark.parametrize(
    "settings_body",
    [
        {"webhookRetries": 3},
        {"defaultRenderQuality": "4k"},
        {"scene": "studio"},
        {"webhookRetries": 3, "x": 1},
    ],
)
def test_organization_settings_schema_and_api_agree_on_unknown_keys(
    openapi, owner, jwt_client, settings_body
):
    body = {"name": "Acme Fashion", "settings": settings_body}
    response = jwt_client(owner).post("/api/organizations", body, format="json")
    assert schema_accepts(openapi, "OrganizationRequest", body) == api_accepts(response, "settings")


@pytest.mark.parametrize(
    "price", [29.99, 29.990000000000002, 0.30000000000000004, 1e-300, 9999999999.99, "29.99"]
)
def test_any_price_the_schema_accepts_is_taken_and_kept_to_the_cent(openapi, partner, photo_key, price):
    item = {"productId": "p", "imageUrl": IMAGE, "category": "tops", "price": price}
    body = {"cartId": f"cart-{price}", "customerPhotoS3Key": photo_key, "cartItems": [item]}
    response = partner.post("/api/v1/cart-tryons", body, format="json")
    if isinstance(price, float):
        assert schema_accepts(openapi, "CartTryOnCreateRequest", body)
    assert api_accepts(response, "cartItems"), response.json()


@pytest.mark.parametrize("price", [-8.77022834903013e173, 1e300, 1e10, -0.5])
def test_a_price_out_of_range_is_a_validation_error_not_a_server_error(openapi, partner, photo_key, price):
    item = {"productId": "p", "imageUrl": IMAGE, "category": "tops", "price": price}
    body = {"cartId": "cart-out-of-range", "customerPhotoS3Key": photo_key, "cartItems": [item]}
    response = partner.post("/api/v1/cart-tryons", body, format="json")
    assert not schema_accepts(openapi, "CartTryOnCreateRequest", body)
    assert not api_accepts(response, "cartItems")


@pytest.mark.parametrize("name", ["Blue T-Shirt", "nul\x00inside"])
def test_item_names_schema_and_api_agree_on_nul_characters(openapi, partner, photo_key, name):
    item = {"productId": "p", "imageUrl": IMAGE, "category": "tops", "name": name}
    body = {"cartId": "cart-nul", "customerPhotoS3Key": photo_key, "cartItems": [item]}
    accepted = api_accepts(partner.post("/api/v1/cart-tryons", body, format="json"), "cartItems")
    assert schema_accepts(openapi, "CartTryOnCreateRequest", body) == accepted
