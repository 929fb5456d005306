"""Dated API versions on the cart create (issue 34): 2026-01-15 answers 201 as the partner reference's
Python and Node clients accept, 2026-11-01 (the newest) 200 as its PHP client requires."""

import pytest

from api import versions
from tests.tryons.conftest import cart_item

URL = "/api/v1/cart-tryons"
IMAGE = "https://shop.example.com/products/tshirt.jpg"
FIRST, NEXT = "2026-01-15", "2026-11-01"


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization)


def _body(photo, cart_id):
    return {"cartId": cart_id, "customerPhotoS3Key": photo.storage_key, "cartItems": [cart_item(IMAGE, 1)]}


def test_the_first_version_answers_cart_create_201_where_the_next_answers_200(client, organization, photo_of):
    photo = photo_of(organization)
    assert versions.KNOWN[:2] == (FIRST, NEXT)

    first = client.post(URL, _body(photo, "cart_a"), format="json", HTTP_GARMAX_VERSION=FIRST)
    following = client.post(URL, _body(photo, "cart_b"), format="json", HTTP_GARMAX_VERSION=NEXT)

    assert (first.status_code, first["Garmax-Version"]) == (201, FIRST), first.json()
    assert (following.status_code, following["Garmax-Version"]) == (200, NEXT), following.json()
    assert first.json()["id"].startswith("cts_") and first.json()["status"] == "queued"
    assert set(first.json()) == set(following.json())  # the same body: only the status differs


def test_without_a_header_the_newest_version_answers(client, organization, photo_of):
    response = client.post(URL, _body(photo_of(organization), "cart_c"), format="json")

    assert (response.status_code, response["Garmax-Version"]) == (200, versions.LATEST)


def test_an_idempotent_replay_is_answered_in_the_replaying_requests_version(client, organization, photo_of):
    body, key = _body(photo_of(organization), "cart_d"), {"HTTP_IDEMPOTENCY_KEY": "replay-in-another-version"}

    first = client.post(URL, body, format="json", HTTP_GARMAX_VERSION=NEXT, **key)
    replay = client.post(URL, body, format="json", HTTP_GARMAX_VERSION=FIRST, **key)

    assert first.status_code == 200
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    assert replay.json()["id"] == first.json()["id"]


def test_other_operations_answer_the_same_in_every_version(client):
    answers = {v: client.get(URL, HTTP_GARMAX_VERSION=v) for v in versions.KNOWN}

    assert {v: (r.status_code, r["Garmax-Version"]) for v, r in answers.items()} == {
        v: (200, v) for v in versions.KNOWN
    }


def test_an_organization_pinned_to_the_first_version_gets_201_and_the_header_overrides_the_pin(
    client, organization, owner, jwt_client, photo_of, django_capture_on_commit_callbacks
):
    photo = photo_of(organization)
    client.get(URL)  # the key is verified and cached before the pin changes
    with django_capture_on_commit_callbacks(execute=True):
        pinned = jwt_client(owner).patch(
            f"/api/organizations/{organization.id}", {"apiVersion": FIRST}, format="json"
        )
    assert pinned.status_code == 200, pinned.json()

    # The key was used before the pin changed: its cached principal is refreshed on the next request.
    by_pin = client.post(URL, _body(photo, "cart_e"), format="json")
    by_header = client.post(URL, _body(photo, "cart_f"), format="json", HTTP_GARMAX_VERSION=NEXT)

    assert (by_pin.status_code, by_pin["Garmax-Version"]) == (201, FIRST), by_pin.json()
    assert (by_header.status_code, by_header["Garmax-Version"]) == (200, NEXT)
    assert client.get("/api/v1/account").json()["apiVersion"] == FIRST


def test_a_key_verified_before_the_pin_changed_answers_in_the_new_pin_on_its_next_request(
    client, organization, owner, jwt_client, django_capture_on_commit_callbacks
):
    assert client.get("/api/v1/account")["Garmax-Version"] == NEXT  # verified and cached at the newest

    with django_capture_on_commit_callbacks(execute=True):
        jwt_client(owner).patch(f"/api/organizations/{organization.id}", {"apiVersion": FIRST}, format="json")

    answer = client.get("/api/v1/account")
    assert (answer["Garmax-Version"], answer.json()["apiVersion"]) == (FIRST, FIRST)
