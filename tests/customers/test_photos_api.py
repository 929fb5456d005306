import io
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import ExifTags, Image

from customers.models import Photo
from customers.services import customer_upsert
from infrastructure.storage import storage_exists, storage_read
from tests.images import animated, image_bytes, jpeg_with_gps_and_rotation, noise_jpeg

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/shopper-1/photos"


@pytest.fixture
def shopper(organization):
    customer, _ = customer_upsert(organization_id=organization.id, external_id="shopper-1")
    return customer


def upload(client, data: bytes, name="photo.jpg", content_type="image/jpeg", **extra):
    body = {"photo": SimpleUploadedFile(name, data, content_type=content_type), **extra}
    return client.post(URL, body, format="multipart")


def fetch_signed(url: str) -> bytes:
    """GET a locally signed URL through Django, as a browser holding the link would."""
    parts = urlsplit(url)
    response = Client().get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_upload_stores_a_cleaned_photo_and_returns_a_signed_url(customer_client, shopper, organization):
    response = upload(customer_client, image_bytes("JPEG", size=(800, 600)), metadata='{"capturedAt": "x"}')
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"].startswith("photo_")
    assert body["photoS3Key"] == f"enterprise/org-{organization.id}/photos/{body['id']}.jpg"
    assert (body["width"], body["height"]) == (800, 600)
    assert body["uploadedAt"].endswith("Z")
    assert body["metadata"] == {"capturedAt": "x"}
    assert "signature=" in body["photoUrl"] and "expires=" in body["photoUrl"]
    assert storage_exists(body["photoS3Key"])
    assert Image.open(io.BytesIO(fetch_signed(body["photoUrl"]))).size == (800, 600)

    customer = customer_client.get("/api/v1/customers/shopper-1").json()
    assert urlsplit(customer["photoUrl"]).path == urlsplit(body["photoUrl"]).path


def test_the_customer_photo_url_points_at_the_latest_photo_in_get_and_list(customer_client, shopper):
    upload(customer_client, image_bytes("PNG", size=(400, 400)), name="a.png")
    latest = upload(customer_client, image_bytes("WEBP", size=(500, 400)), name="b.webp").json()
    assert latest["photoS3Key"].endswith(".webp")
    listed = customer_client.get("/api/v1/customers").json()["data"][0]
    assert urlsplit(listed["photoUrl"]).path.endswith(latest["photoS3Key"])
    photos = customer_client.get(URL).json()
    assert photos["total"] == 2
    assert photos["data"][0]["id"] == latest["id"]


def test_gps_exif_is_absent_from_the_stored_file(customer_client, shopper):
    response = upload(customer_client, jpeg_with_gps_and_rotation(size=(400, 600)))
    assert response.status_code == 200, response.content
    stored = storage_read(response.json()["photoS3Key"])
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert len(image.getexif()) == 0
    assert b"SecretCam" not in stored
    assert (response.json()["width"], response.json()["height"]) == (600, 400)


def test_non_image_bytes_named_jpg_are_a_400(customer_client, shopper):
    response = upload(customer_client, b"%PDF-1.7 definitely not a photo" * 50, name="selfie.jpg")
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"
    assert "photo" in response.json()["details"]
    assert not Photo.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(animated("WEBP"), id="animated-webp"),
        pytest.param(image_bytes("GIF", size=(400, 400)), id="gif"),
        pytest.param(image_bytes("JPEG", size=(200, 200)), id="too-small"),
        pytest.param(image_bytes("PNG", size=(5000, 400)), id="too-large"),
    ],
)
def test_refused_photos_are_400s_and_nothing_is_stored(customer_client, shopper, data, settings):
    response = upload(customer_client, data)
    assert response.status_code == 400, response.content
    assert not Photo.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_a_body_over_the_size_limit_is_a_413_before_it_is_read(customer_client, shopper, settings):
    settings.PHOTO_MAX_BYTES = 100_000
    data = noise_jpeg()
    assert len(data) > 100_000 + 64 * 1024
    response = upload(customer_client, data)
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
    assert response.json()["details"]["maxBytes"] == 100_000


def test_a_photo_just_over_the_limit_is_a_413_too(customer_client, shopper, settings):
    data = noise_jpeg(size=(400, 400))
    settings.PHOTO_MAX_BYTES = len(data) - 1  # within the multipart allowance, caught after parsing
    response = upload(customer_client, data)
    assert response.status_code == 413
    assert not Photo.objects.exists()


def test_an_eleven_megabyte_upload_is_refused_without_a_5xx(customer_client, shopper):
    response = upload(customer_client, b"\xff\xd8" + b"\0" * (11 * 1024 * 1024))
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"metadata": "not json"}, "metadata"), ({"metadata": "[1, 2]"}, "metadata")],
)
def test_photo_metadata_must_be_a_json_object(customer_client, shopper, extra, field):
    response = upload(customer_client, image_bytes("JPEG", size=(400, 400)), **extra)
    assert response.status_code == 400
    assert field in response.json()["details"]


def test_a_missing_photo_field_is_a_400(customer_client, shopper):
    response = customer_client.post(URL, {"metadata": "{}"}, format="multipart")
    assert response.status_code == 400
    assert "photo" in response.json()["details"]


def test_json_bodies_are_not_accepted_for_uploads(customer_client, shopper):
    response = customer_client.post(URL, {"photo": "aGVsbG8="}, format="json")
    assert response.status_code == 415


def test_photos_of_an_unknown_customer_are_a_404(customer_client):
    response = upload(customer_client, image_bytes("JPEG", size=(400, 400)))
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"


def test_an_upload_retried_with_the_same_idempotency_key_stores_one_photo(customer_client, shopper):
    data = image_bytes("JPEG", size=(400, 400))
    first = customer_client.post(
        URL, {"photo": SimpleUploadedFile("a.jpg", data)}, format="multipart", HTTP_IDEMPOTENCY_KEY="up-1"
    )
    again = customer_client.post(
        URL, {"photo": SimpleUploadedFile("a.jpg", data)}, format="multipart", HTTP_IDEMPOTENCY_KEY="up-1"
    )
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Photo.objects.count() == 1


def test_form_fields_over_djangos_memory_limit_are_a_413_not_a_500(customer_client, shopper, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = upload(
        customer_client, image_bytes("JPEG", size=(400, 400)), metadata='{"k": "%s"}' % ("v" * 500)
    )
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
