"""Issue 27 item 7, from the attacker's side: names and other short texts a partner writes refuse control and
format characters (api.text), over HTTP against the README's production command: organization name and
domain, API key name, webhook description, customer name, cart id and item texts, metadata keys.

"Org B\\nBcc: attacker@evil.example" as an organization name used to be accepted (200) and then broke the
low-balance email's headers; a bidirectional override or a NUL does the same to other readers.
"""

import pytest
import requests
from rest_framework_simplejwt.tokens import RefreshToken

from api.text import refused_character
from apikeys import services as apikey_services
from organizations.models import Organization
from tests.factories import UserFactory, make_organization
from tests.live_service import live_service  # noqa: F401
from webhooks.models import Webhook

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

INJECTED = "Org B\nBcc: attacker@evil.example"
REFUSED = ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u202e", "\u200b", "\ufeff"]
KEPT = ["Zoë & Søn", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "👩\u200d👩\u200d👧 Family"]


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


def refused(response, field: str) -> bool:
    body = response.json()
    return response.status_code == 400 and body["error"] == "ValidationError" and field in body["details"]


def test_an_organization_name_that_injects_an_email_header_is_refused_on_create_and_update(
    live_service,  # noqa: F811
    transactional_db,
):
    owner = UserFactory()
    shop = make_organization(owner=owner, name="Org B", billing_email="billing@b.example")

    created = requests.post(
        live_service.url("/api/organizations"), json={"name": INJECTED}, headers=bearer(owner), timeout=10
    )
    patched = requests.patch(
        live_service.url(f"/api/organizations/{shop.id}"),
        json={"name": INJECTED},
        headers=bearer(owner),
        timeout=10,
    )

    assert refused(created, "name"), created.text
    assert refused(patched, "name"), patched.text
    assert "U+000A" in patched.json()["details"]["name"][0]
    assert not Organization.objects.filter(name__contains="\n").exists()
    assert Organization.objects.get(pk=shop.pk).name == "Org B"


@pytest.mark.parametrize("character", REFUSED)
def test_every_partner_short_text_refuses_a_control_or_format_character(
    live_service,  # noqa: F811
    transactional_db,
    character,
):
    owner = UserFactory()
    shop = make_organization(owner=owner, name="Acme")
    _, key = apikey_services.apikey_create(organization=shop, name="ops", scopes=["all"])
    webhook = Webhook.objects.create(
        organization=shop,
        url="https://hooks.example.com/in",
        events=["cart_tryon.completed"],
        secret="whsec_x",
    )
    text = f"before{character}after"
    jwt, api = bearer(owner), {"X-API-Key": key}

    def send(method: str, path: str, body: dict, headers: dict) -> requests.Response:
        return requests.request(method, live_service.url(path), json=body, headers=headers, timeout=10)

    def cart(*, cart_id: str = "cart-1", name: str = "Red top") -> dict:
        item = {
            "productId": "p1",
            "name": name,
            "imageUrl": "https://93.184.216.34/a.png",
            "category": "tops",
        }
        return {"cartId": cart_id, "customerPhotoS3Key": "none", "cartItems": [item]}

    organization = f"/api/organizations/{shop.id}"
    answers = {
        "organization name": (send("PATCH", organization, {"name": text}, jwt), "name"),
        "organization domain": (send("PATCH", organization, {"domain": text}, jwt), "domain"),
        "API key name": (
            send("POST", f"{organization}/api-keys", {"name": text, "scopes": ["all"]}, jwt),
            "name",
        ),
        "webhook description": (
            send("PATCH", f"/api/v1/webhooks/{webhook.id}", {"description": text}, api),
            "description",
        ),
        "customer name": (send("POST", "/api/v1/customers", {"externalId": "c1", "name": text}, api), "name"),
        "cart id": (send("POST", "/api/v1/cart-tryons", cart(cart_id=text), api), "cartId"),
        "cart item name": (send("POST", "/api/v1/cart-tryons", cart(name=text), api), "cartItems"),
        "metadata key": (
            send("POST", "/api/v1/customers", {"externalId": "c2", "metadata": {"ok": {text: 1}}}, api),
            "metadata",
        ),
    }

    wrong = {
        what: (r.status_code, r.text[:200]) for what, (r, field) in answers.items() if not refused(r, field)
    }
    assert wrong == {}
    # The refusal names the character, never repeats the text.
    assert all(text not in r.text for r, _ in answers.values())


@pytest.mark.parametrize("name", KEPT)
def test_names_in_any_script_and_emoji_sequences_are_kept(live_service, transactional_db, name):  # noqa: F811
    owner = UserFactory()
    shop = make_organization(owner=owner, name="Acme")

    response = requests.patch(
        live_service.url(f"/api/organizations/{shop.id}"),
        json={"name": name},
        headers=bearer(owner),
        timeout=10,
    )

    assert response.status_code == 200, response.text
    assert response.json()["name"] == name and refused_character(name) is None
