"""The garment catalogue over the API and through the worker: a garment registered once (upsert by productId
and variantId), fetched once into our own copy (ready, or failed with its code, with its event), listed,
read, refreshed and deleted within its organization only; carts naming it (by garmentId, or by the same
imageUrl) use our copy instead of downloading it (revalidation: test_garment_revalidation.py)."""

import json

import pytest

from infrastructure.storage import storage_exists, storage_read
from organizations.models import Organization
from tests.tryons.catalogue_fixtures import URL, catalogue_cart, register_garment
from tests.tryons.engine_fixtures import start_fake
from tryons.catalogue.models import Garment
from tryons.models import CartTryOnSession, TryOn
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_private")]


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization)


def test_a_garment_is_registered_then_fetched_once_into_our_copy_and_its_event_recorded(
    client, organization, garment_server, fetches, django_capture_on_commit_callbacks
):
    from tests.webhooks.factories import make_webhook

    make_webhook(organization, "http://127.0.0.1:9/hook", events=["garment.ready", "garment.failed"])
    with django_capture_on_commit_callbacks(execute=True):
        created = register_garment(
            client, garment_server, image="tshirt", garmentPhotoType="flat-lay", metadata={"a": 1}
        )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["id"].startswith("garment_") and body["status"] == "pending" and body["error"] is None
    assert (body["garmentPhotoType"], body["metadata"], body["variantId"]) == ("flat-lay", {"a": 1}, None)
    assert fetches() == ["ready"]
    garment = Garment.objects.get(pk=body["id"])
    assert storage_read(garment.image_key) and len(garment.image_digest) == 64 and garment.width > 0
    assert garment_server.hits == ["/garments/tshirt.png"]
    event = WebhookEvent.objects.get(event="garment.ready")
    assert json.loads(event.body)["data"]["id"] == garment.pk
    read = client.get(f"{URL}/{garment.pk}").json()
    assert read["status"] == "ready" and read["width"] == garment.width and read["fetchedAt"]


def test_an_upsert_updates_by_product_and_variant_and_fetches_again_only_for_a_new_image(
    client, garment_server, fetches, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = register_garment(client, garment_server).json()
        fetches()
        same = register_garment(client, garment_server, image="tshirt", category="outerwear")
        other_variant = register_garment(client, garment_server, variantId="red")
    assert same.status_code == 200 and same.json()["id"] == first["id"] and same.json()["status"] == "ready"
    assert same.json()["category"] == "outerwear" and fetches.queued == [f"{other_variant.json()['id']}:0"]
    assert other_variant.status_code == 201 and other_variant.json()["id"] != first["id"]
    fetches()
    with django_capture_on_commit_callbacks(execute=True):
        moved = register_garment(client, garment_server, image="jacket")
    assert moved.status_code == 200 and moved.json()["status"] == "pending"
    assert fetches() == ["ready"]
    assert Garment.objects.get(pk=first["id"]).image_url.endswith("/garments/jacket.png")


def test_a_garment_whose_image_cannot_be_had_fails_with_its_code_and_a_refresh_fetches_again(
    client, garment_server, fetches, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = client.post(
            URL,
            {"productId": "gone", "imageUrl": garment_server.url("/missing.png"), "category": "tops"},
            format="json",
        ).json()
    assert fetches() == ["failed"]
    failed = client.get(f"{URL}/{body['id']}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "garment_unavailable"
    event = WebhookEvent.objects.get(event="garment.failed")
    assert json.loads(event.body)["data"]["error"]["code"] == "garment_unavailable"
    with django_capture_on_commit_callbacks(execute=True):
        refreshed = client.post(f"{URL}/{body['id']}/refresh")
    assert refreshed.status_code == 200 and refreshed.json()["status"] == "pending"
    assert fetches() == ["failed"]


def test_a_fetch_overtaken_by_a_newer_image_changes_nothing(
    client, garment_server, fetches, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = register_garment(client, garment_server).json()
        register_garment(client, garment_server, image="jacket")
    assert fetches() == ["stale", "ready"]
    assert Garment.objects.get(pk=body["id"]).image_url.endswith("jacket.png")


@pytest.mark.parametrize(
    "change",
    [
        {"productId": ""},
        {"productId": "a\nb"},
        {"productId": "x" * 256},
        {"imageUrl": "ftp://shop.example/a.png"},
        {"imageUrl": None},
        {"category": "hats"},
        {"garmentPhotoType": "flatlay"},
        {"metadata": "not an object"},
        {"name": "\u0000"},
    ],
)
def test_a_bad_garment_is_a_400_naming_the_field_and_writes_nothing(client, garment_server, change):
    body = {"productId": "tee", "imageUrl": garment_server.url("/garments/tshirt.png"), "category": "tops"}
    answer = client.post(URL, {**body, **change}, format="json")
    assert answer.status_code == 400 and answer.json()["error"] == "ValidationError"
    assert set(change) & set(answer.json()["details"])
    assert not Garment.objects.exists()


def test_a_private_image_url_is_refused_when_the_deployment_refuses_them(client, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    answer = client.post(
        URL, {"productId": "tee", "imageUrl": "http://127.0.0.1:9/a.png", "category": "tops"}, format="json"
    )
    assert answer.status_code == 400 and "imageUrl" in answer.json()["details"]


def test_the_list_filters_by_category_and_status_and_refuses_other_values(
    client, garment_server, fetches, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        register_garment(client, garment_server, product="a", image="tshirt", category="tops")
        register_garment(client, garment_server, product="b", image="jeans", category="bottoms")
    fetches()
    register_garment(client, garment_server, product="c", image="dress", category="dresses")
    listed = client.get(URL).json()["data"]
    assert [g["productId"] for g in listed] == ["c", "b", "a"]
    assert [g["productId"] for g in client.get(URL, {"category": "bottoms"}).json()["data"]] == ["b"]
    assert [g["productId"] for g in client.get(URL, {"status": "pending"}).json()["data"]] == ["c"]
    for bad in ({"category": "hats"}, {"status": "done"}):
        assert client.get(URL, bad).status_code == 400


def test_another_organizations_garment_is_not_found_and_a_read_key_cannot_write(
    client, organization, other_organization, partner_client, garment_server
):
    theirs = register_garment(partner_client(other_organization), garment_server).json()
    for answer in (
        client.get(f"{URL}/{theirs['id']}"),
        client.delete(f"{URL}/{theirs['id']}"),
        client.post(f"{URL}/{theirs['id']}/refresh"),
    ):
        assert answer.status_code == 404
    assert Garment.objects.filter(pk=theirs["id"]).exists()
    reader = partner_client(organization, scopes=("garments:read",))
    assert reader.get(URL).status_code == 200
    assert register_garment(reader, garment_server).status_code == 403


def test_deleting_a_garment_removes_our_copy_and_carts_keep_their_results(
    client, organization, garment_server, fetches, photo_of, renderer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = register_garment(client, garment_server).json()
        fetches()
    garment = Garment.objects.get(pk=body["id"])
    session = catalogue_cart(
        organization, photo_of, [{"garment_id": garment.pk}], django_capture_on_commit_callbacks
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{URL}/{garment.pk}").status_code == 204
    assert not storage_exists(garment.image_key)
    (item,) = TryOn.objects.filter(session=session)
    assert item.status == "completed" and storage_exists(item.result_key)


def test_carts_naming_a_garment_or_its_url_use_our_copy_instead_of_downloading_it(
    client, organization, garment_server, fetches, photo_of, renderer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = register_garment(client, garment_server, garmentPhotoType="model").json()
        fetches()
    url = garment_server.url("/garments/tshirt.png")
    for n in range(3):
        session = catalogue_cart(
            organization,
            photo_of,
            [{"garment_id": body["id"]}, {"image_url": url, "category": "tops"}],
            django_capture_on_commit_callbacks,
            cart_id=f"cart_{n}",
        )
        assert session.status == "completed"
    assert garment_server.hits == ["/garments/tshirt.png"], "fetched once, by the catalogue"
    item = TryOn.objects.filter(session=session, position=0).get()
    assert (item.image_url, item.category, item.garment_photo_type) == (url, "tops", "model")


def test_a_cart_naming_an_unknown_or_foreign_garment_is_a_400_and_charges_nothing(
    client, organization, other_organization, partner_client, garment_server, photo_of
):
    theirs = register_garment(partner_client(other_organization), garment_server).json()
    balance = Organization.objects.get(pk=organization.id).credits
    photo = photo_of(organization)
    for garment_id in ("garment_nope", theirs["id"]):
        answer = client.post(
            "/api/v1/cart-tryons",
            {
                "cartId": "c",
                "customerPhotoS3Key": photo.storage_key,
                "cartItems": [{"productId": "p", "garmentId": garment_id}],
            },
            format="json",
        )
        assert answer.status_code == 400 and "garmentId" in json.dumps(answer.json()["details"])
    answer = client.post(
        "/api/v1/cart-tryons",
        {"cartId": "c", "customerPhotoS3Key": photo.storage_key, "cartItems": [{"productId": "p"}]},
        format="json",
    )
    assert answer.status_code == 400 and {"imageUrl", "category"} <= set(
        json.dumps(answer.json()["details"]).split('"')
    )
    assert Organization.objects.get(pk=organization.id).credits == balance
    assert not CartTryOnSession.objects.filter(organization=organization).exists()


def test_a_hosted_cart_of_catalogue_garments_downloads_nothing(
    client, organization, garment_server, fetches, photo_of, monkeypatch, settings, tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        tee = register_garment(client, garment_server, product="tee", image="tshirt").json()
        jeans = register_garment(
            client, garment_server, product="jeans", image="jeans", category="bottoms"
        ).json()
        fetches()
    fake = start_fake("fashn", monkeypatch, settings)
    hits = len(garment_server.hits)
    session = catalogue_cart(
        organization,
        photo_of,
        [{"garment_id": tee["id"]}, {"garment_id": jeans["id"]}],
        django_capture_on_commit_callbacks,
    )
    tasks.run_until_idle()
    session.refresh_from_db()
    assert session.status == "completed" and len(fake.requests_to("POST", "/v1/run")) == 2
    assert len(garment_server.hits) == hits, "the engine got our copies"
    fake.close()


def test_staff_see_the_catalogue_read_only(client, garment_server, admin_client):
    garment = register_garment(client, garment_server).json()
    listed = admin_client.get("/admin/tryons/garment/")
    assert listed.status_code == 200 and garment["id"] in listed.content.decode()
    assert admin_client.get(f"/admin/tryons/garment/{garment['id']}/change/").status_code == 200
    assert admin_client.get("/admin/tryons/garment/add/").status_code == 403
