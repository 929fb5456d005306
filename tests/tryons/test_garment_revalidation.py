"""A catalogue garment's copy against the shop's image: revalidated with a conditional GET once due (a 304
keeps our copy, a changed image is used and fetched again, a server without validators is compared byte for
byte, a failing server leaves our copy in use), and a first fetch the shop's server failed retried before
the garment is `failed`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from infrastructure import outbound
from infrastructure.storage import storage_delete, storage_read
from tests.images import garment_png
from tests.tryons.catalogue_fixtures import catalogue_cart, register_garment
from tryons.catalogue import services as catalogue
from tryons.catalogue.models import Garment
from tryons.models import TryOn
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_private")]

TSHIRT = "/garments/tshirt.png"


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization)


@pytest.fixture
def garment(client, garment_server, fetches, django_capture_on_commit_callbacks) -> Garment:
    """A ready catalogue garment whose check is due (GARMENT_REVALIDATE_SECONDS ago)."""
    with django_capture_on_commit_callbacks(execute=True):
        body = register_garment(client, garment_server).json()
    assert fetches() == ["ready"]
    Garment.objects.filter(pk=body["id"]).update(revalidated_at=timezone.now() - timedelta(hours=2))
    garment_server.answers.clear()
    return Garment.objects.get(pk=body["id"])


def _cart(organization, photo_of, garment, capture, n=0):
    session = catalogue_cart(organization, photo_of, [{"garment_id": garment.pk}], capture, cart_id=f"c{n}")
    assert session.status == "completed"
    return TryOn.objects.get(session=session)


def test_a_garment_keeps_the_validators_its_server_sent(garment):
    assert garment.image_etag.startswith('"') and garment.image_last_modified.endswith("GMT")


def test_a_due_garment_is_asked_with_a_conditional_get_and_a_304_keeps_our_copy(
    organization, garment, garment_server, photo_of, renderer, django_capture_on_commit_callbacks
):
    before = garment.revalidated_at
    _cart(organization, photo_of, garment, django_capture_on_commit_callbacks)
    assert garment_server.answers == [(TSHIRT, 304)]
    after = Garment.objects.get(pk=garment.pk)
    assert after.status == "ready" and after.revalidated_at > before and after.image_key == garment.image_key
    # Checked: the next carts within GARMENT_REVALIDATE_SECONDS ask nothing.
    for n in (1, 2):
        _cart(organization, photo_of, garment, django_capture_on_commit_callbacks, n=n)
    assert garment_server.answers == [(TSHIRT, 304)]


def test_a_changed_image_behind_the_same_url_is_used_at_once_and_fetched_again(
    organization, garment, garment_server, fetches, photo_of, renderer, django_capture_on_commit_callbacks
):
    jacket = garment_png((90, 110, 60), (512, 512), cut_out=True)
    garment_server.images[TSHIRT] = jacket
    _cart(organization, photo_of, garment, django_capture_on_commit_callbacks)
    assert garment_server.answers == [(TSHIRT, 200)], "our ETag no longer matches: the new image came"
    assert Garment.objects.get(pk=garment.pk).status == "pending", "changed: fetched again"
    assert renderer.garments[-1] == jacket, "this cart already wore the new image"
    assert fetches() == ["ready"]
    fetched = Garment.objects.get(pk=garment.pk)
    assert storage_read(fetched.image_key) == jacket and fetched.image_etag != garment.image_etag


def test_a_server_without_validators_is_compared_byte_for_byte(
    organization, client, garment_server, fetches, photo_of, renderer, django_capture_on_commit_callbacks
):
    garment_server.validators = False
    with django_capture_on_commit_callbacks(execute=True):
        body = register_garment(client, garment_server).json()
    fetches()
    Garment.objects.filter(pk=body["id"]).update(revalidated_at=timezone.now() - timedelta(hours=2))
    garment = Garment.objects.get(pk=body["id"])
    assert (garment.image_etag, garment.image_last_modified) == ("", "")
    hits = len(garment_server.hits)
    _cart(organization, photo_of, garment, django_capture_on_commit_callbacks)
    assert len(garment_server.hits) == hits + 1, "a plain GET"
    after = Garment.objects.get(pk=garment.pk)
    assert after.status == "ready" and after.revalidated_at > garment.revalidated_at


def test_a_failing_shop_server_leaves_our_copy_in_use_and_the_check_due(
    organization, garment, garment_server, photo_of, renderer, django_capture_on_commit_callbacks
):
    garment_server.failing.add(TSHIRT)
    item = _cart(organization, photo_of, garment, django_capture_on_commit_callbacks)
    assert item.status == "completed" and renderer.garments[-1] == storage_read(garment.image_key)
    after = Garment.objects.get(pk=garment.pk)
    assert after.status == "ready" and after.revalidated_at == garment.revalidated_at, "asked again next cart"


def test_an_unchanged_image_whose_copy_is_gone_is_downloaded_for_the_cart_and_fetched_again(
    organization, garment, garment_server, fetches, photo_of, renderer, django_capture_on_commit_callbacks
):
    storage_delete(garment.image_key)
    item = _cart(organization, photo_of, garment, django_capture_on_commit_callbacks)
    assert item.status == "completed" and [status for _, status in garment_server.answers] == [304, 200]
    assert Garment.objects.get(pk=garment.pk).status == "pending" and fetches() == ["ready"]
    assert storage_read(Garment.objects.get(pk=garment.pk).image_key) == renderer.garments[-1]


def test_a_first_fetch_the_shop_failed_is_retried_before_the_garment_fails(
    client, garment_server, fetches, django_capture_on_commit_callbacks
):
    garment_server.failing.add("/garments/jeans.png")
    with django_capture_on_commit_callbacks(execute=True):
        body = register_garment(client, garment_server, product="jeans", image="jeans").json()
    assert fetches() == ["retrying"] and fetches.queued == [f"{body['id']}:0:1"]
    assert client.get(f"/api/v1/garments/{body['id']}").json()["status"] == "pending"
    garment_server.failing.clear()
    assert fetches() == ["ready"]
    # Always failing: each delay of FETCH_RETRY_SECONDS, then `failed` with the code, and its event.
    garment_server.failing.add("/garments/dress.png")
    fetches.delays.clear()
    with django_capture_on_commit_callbacks(execute=True):
        dress = register_garment(client, garment_server, product="dress", image="dress").json()
    outcomes = [fetches() for _ in range(len(catalogue.FETCH_RETRY_SECONDS) + 1)]
    assert outcomes == [["retrying"]] * len(catalogue.FETCH_RETRY_SECONDS) + [["failed"]]
    assert fetches.delays == list(catalogue.FETCH_RETRY_SECONDS)
    failed = client.get(f"/api/v1/garments/{dress['id']}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "garment_download_failed"
    assert WebhookEvent.objects.filter(event="garment.failed").count() == 1


def test_a_retry_of_an_older_generation_changes_nothing(
    client, garment_server, fetches, django_capture_on_commit_callbacks
):
    garment_server.failing.add(TSHIRT)
    with django_capture_on_commit_callbacks(execute=True):
        body = register_garment(client, garment_server).json()
    assert fetches() == ["retrying"]
    with django_capture_on_commit_callbacks(execute=True):
        register_garment(client, garment_server, image="jeans")  # a new image meanwhile: generation 1
    assert fetches() == ["stale", "ready"]
    assert Garment.objects.get(pk=body["id"]).image_url.endswith("/garments/jeans.png")


@pytest.mark.parametrize(
    "etag", ['"' + "a" * 300 + '"', '"caf\u00e9"', 'W/"tab\there"'], ids=["long", "non-ascii", "control"]
)
def test_a_validator_we_would_echo_is_kept_only_when_short_and_printable(etag):
    assert outbound._validator(etag) == ""
    assert outbound._validator('W/"abc-123"') == 'W/"abc-123"'


def test_a_304_to_a_plain_get_is_no_image_and_the_garment_fails(
    client, garment_server, fetches, django_capture_on_commit_callbacks
):
    """A server answering 304 to a request that asked nothing conditional has sent no image."""
    fetched = outbound.fetch(garment_server.url("/always-304.png"), max_bytes=10**6, timeout=5)
    assert not fetched.not_modified and fetched.body == b""
    with django_capture_on_commit_callbacks(execute=True):
        body = client.post(
            "/api/v1/garments",
            {"productId": "odd", "imageUrl": garment_server.url("/always-304.png"), "category": "tops"},
            format="json",
        ).json()
    assert fetches() == ["failed"]
    assert client.get(f"/api/v1/garments/{body['id']}").json()["error"]["code"] == "garment_invalid"
