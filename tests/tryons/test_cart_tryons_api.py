from decimal import Decimal

import pytest

from organizations.models import CreditLedgerEntry
from organizations.services import credits_adjust
from tests.tryons.conftest import cart_item
from tryons.models import CartTryOnSession, TryOn

URL = "/api/v1/cart-tryons"
IMAGE = "https://shop.example.com/products/tshirt.jpg"


@pytest.fixture
def photo(organization, photo_of):
    return photo_of(organization)


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization)


def body(photo, count=2, quality="hd", cart_id="cart_external_xyz", **extra):
    return {
        "cartId": cart_id,
        "customerPhotoS3Key": photo.storage_key,
        "cartItems": [cart_item(IMAGE, n) for n in range(1, count + 1)],
        "renderQuality": quality,
        "backgroundScene": "studio",
        "metadata": {"orderId": "order_789"},
        **extra,
    }


def test_create_charges_and_answers_like_the_seed(client, organization, photo):
    response = client.post(URL, body(photo), format="json")

    # 200, not 201: seed 001's PHP client throws on anything else (DESIGN.md).
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["id"].startswith("cts_")
    assert data["cartId"] == "cart_external_xyz"
    assert data["status"] == "queued"
    assert data["progress"] == 0
    assert data["creditsRequired"] == 4
    assert data["creditsCharged"] == 4
    assert data["creditsRefunded"] == 0
    assert data["itemCount"] == 2
    assert data["estimatedCompletionTime"].endswith("Z")
    assert [item["productId"] for item in data["cartItems"]] == ["prod_001", "prod_002"]
    assert all(item["status"] == "queued" and item["resultUrl"] is None for item in data["cartItems"])
    organization.refresh_from_db()
    assert organization.credits == Decimal("96")
    charge = CreditLedgerEntry.objects.get(organization=organization, kind="charge")
    assert (charge.reference, charge.amount) == (data["id"], Decimal("-4"))


def test_volume_discount_is_exact(client, photo):
    response = client.post(URL, body(photo, count=5, quality="hd"), format="json")
    assert response.json()["creditsCharged"] == 9
    response = client.post(URL, body(photo, count=9, quality="sd", cart_id="c2"), format="json")
    assert response.json()["creditsCharged"] == 8.1


def test_render_quality_defaults_to_the_organization_setting(client, organization, photo):
    organization.settings = {**organization.settings, "defaultRenderQuality": "4k"}
    organization.save()
    payload = body(photo, count=1)
    del payload["renderQuality"]
    data = client.post(URL, payload, format="json").json()
    assert data["renderQuality"] == "4k"
    assert data["creditsCharged"] == 4


@pytest.mark.parametrize("count", [0, 21])
def test_zero_or_twenty_one_items_are_a_validation_error(client, organization, photo, count):
    response = client.post(URL, body(photo, count=count), format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"
    assert "cartItems" in response.json()["details"]
    assert not CartTryOnSession.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("productId", ""),
        ("imageUrl", "ftp://shop.example.com/a.jpg"),
        ("imageUrl", "not a url"),
        ("category", "hats"),
    ],
)
def test_invalid_item_fields_are_rejected(client, photo, field, value):
    payload = body(photo, count=1)
    payload["cartItems"][0][field] = value
    response = client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "cartItems" in response.json()["details"]


@pytest.mark.parametrize(
    "image_url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://[::127.0.0.1]/garment.png",  # IPv4-compatible IPv6 form of loopback
        "https://[::ffff:127.0.0.1]/garment.png",
        "https://[fec0::1]/garment.png",  # site-local
        "https://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 form of 169.254.169.254
        "https://100.64.0.1/garment.png",
        "https://0.0.0.0/garment.png",
    ],
)
def test_image_url_on_private_network_is_rejected_up_front(client, photo, image_url):
    payload = body(photo, count=1)
    payload["cartItems"][0]["imageUrl"] = image_url
    response = client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"
    assert "cartItems" in response.json()["details"]


def test_oversized_metadata_is_rejected(client, photo):
    response = client.post(URL, body(photo, metadata={"blob": "x" * 9000}), format="json")
    assert response.status_code == 400
    assert "metadata" in response.json()["details"]


def test_other_organizations_photo_key_is_rejected(client, other_organization, photo_of):
    foreign = photo_of(other_organization)
    response = client.post(URL, body(foreign), format="json")
    assert response.status_code == 400
    assert "customerPhotoS3Key" in response.json()["details"]
    assert not CartTryOnSession.objects.exists()


def test_insufficient_credits_leaves_nothing_behind(client, organization, photo, billing_staff):
    credits_adjust(organization=organization, amount=-97, description="test", actor=billing_staff)
    response = client.post(URL, body(photo, count=2, quality="hd"), format="json")

    assert response.status_code == 403
    error = response.json()
    assert error["error"] == "InsufficientCredits"
    assert error["details"]["required"] == 4
    assert error["details"]["available"] == 3
    assert not CartTryOnSession.objects.exists()
    assert not TryOn.objects.exists()
    organization.refresh_from_db()
    assert organization.credits == Decimal("3")
    assert not CreditLedgerEntry.objects.filter(kind="charge").exists()


def test_repeating_the_same_cart_returns_the_session_without_charging(client, organization, photo):
    first = client.post(URL, body(photo), format="json")
    again = client.post(URL, body(photo), format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["id"] == first.json()["id"]
    organization.refresh_from_db()
    assert organization.credits == Decimal("96")


def test_same_cart_with_different_content_is_a_new_session(client, photo):
    first = client.post(URL, body(photo, count=1), format="json")
    changed = client.post(URL, body(photo, count=2), format="json")
    assert changed.status_code == 200
    assert changed.json()["id"] != first.json()["id"]


def test_idempotency_key_replays_the_first_response(client, organization, photo):
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-789"}
    first = client.post(URL, body(photo, cart_id="a"), format="json", **headers)
    replay = client.post(URL, body(photo, cart_id="a"), format="json", **headers)
    assert replay.json()["id"] == first.json()["id"]
    assert replay["Idempotent-Replayed"] == "true"
    assert CartTryOnSession.objects.count() == 1


def test_get_list_and_filters(client, photo):
    a = client.post(URL, body(photo, cart_id="cart-a"), format="json").json()
    client.post(URL, body(photo, cart_id="cart-b"), format="json")

    detail = client.get(f"{URL}/{a['id']}")
    assert detail.status_code == 200
    assert detail.json()["cartItems"][0]["tryonId"].startswith("tryon_")

    listed = client.get(URL, {"cartId": "cart-a"}).json()
    assert listed["total"] == 1
    assert listed["data"][0]["id"] == a["id"]
    assert client.get(URL, {"status": "queued"}).json()["total"] == 2
    assert client.get(URL, {"status": "completed"}).json()["total"] == 0
    assert client.get(URL, {"status": "bogus"}).status_code == 400
    assert client.get(URL, {"limit": 1}).json()["hasMore"] is True


def test_other_organization_gets_404(client, photo, other_organization, partner_client):
    session = client.post(URL, body(photo), format="json").json()
    rival = partner_client(other_organization)

    assert rival.get(f"{URL}/{session['id']}").status_code == 404
    assert rival.post(f"{URL}/{session['id']}/cancel").status_code == 404
    assert rival.get(URL).json()["total"] == 0
    assert rival.get(f"/api/v1/tryons/{session['cartItems'][0]['tryonId']}").status_code == 404


def test_scopes_are_enforced(organization, partner_client, photo):
    reader = partner_client(organization, scopes=("tryon:read",))
    creator = partner_client(organization, scopes=("tryon:create",))

    assert reader.post(URL, body(photo), format="json").json()["error"] == "InvalidScope"
    session = creator.post(URL, body(photo), format="json")
    assert session.status_code == 200
    assert creator.get(URL).status_code == 403
    assert reader.get(URL).status_code == 200
    assert reader.post(f"{URL}/{session.json()['id']}/cancel").status_code == 403


def test_missing_api_key_is_401(photo):
    from rest_framework.test import APIClient

    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidApiKey"


def test_cancel_queued_session_refunds_everything(client, organization, photo):
    session = client.post(URL, body(photo, count=5, quality="hd"), format="json").json()
    response = client.post(f"{URL}/{session['id']}/cancel")

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "cancelled"
    assert data["creditsCharged"] == 9
    assert data["creditsRefunded"] == 9
    assert {item["status"] for item in data["cartItems"]} == {"cancelled"}
    organization.refresh_from_db()
    assert organization.credits == Decimal("100")
    # Cancelling again changes nothing.
    assert client.post(f"{URL}/{session['id']}/cancel").json()["creditsRefunded"] == 9
    organization.refresh_from_db()
    assert organization.credits == Decimal("100")
    assert CreditLedgerEntry.objects.filter(kind="refund").count() == 1


def test_cancel_finished_session_is_a_conflict(client, photo):
    session = client.post(URL, body(photo), format="json").json()
    CartTryOnSession.objects.filter(pk=session["id"]).update(status="completed")
    response = client.post(f"{URL}/{session['id']}/cancel")
    assert response.status_code == 409


def test_unknown_session_is_404(client):
    response = client.get(f"{URL}/cts_doesnotexist")
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"


def test_single_tryon_create_list_get(client, organization, photo, other_organization, partner_client):
    payload = {
        "customerPhotoS3Key": photo.storage_key,
        "productId": "prod_001",
        "imageUrl": IMAGE,
        "category": "dresses",
        "renderQuality": "4k",
    }
    response = client.post("/api/v1/tryons", payload, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["id"].startswith("tryon_")
    assert (data["status"], data["creditsCharged"], data["sessionId"]) == ("queued", 4, None)
    assert data["estimatedCompletionTime"]
    organization.refresh_from_db()
    assert organization.credits == Decimal("96")
    assert client.get("/api/v1/tryons").json()["total"] == 1
    assert client.get(f"/api/v1/tryons/{data['id']}").json()["productId"] == "prod_001"
    assert partner_client(other_organization).get(f"/api/v1/tryons/{data['id']}").status_code == 404


def test_single_tryon_validation_and_foreign_photo(client, other_organization, photo_of):
    foreign = photo_of(other_organization)
    payload = {
        "customerPhotoS3Key": foreign.storage_key,
        "productId": "p",
        "imageUrl": IMAGE,
        "category": "tops",
    }
    assert client.post("/api/v1/tryons", payload, format="json").status_code == 400
    assert client.post("/api/v1/tryons", {**payload, "category": "socks"}, format="json").status_code == 400
    assert not TryOn.objects.exists()
