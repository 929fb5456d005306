"""infrastructure.storage on local disk (signed by us) and on a real S3 API (moto's server on loopback)."""

import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from customers.services import customer_upsert
from infrastructure import storage
from infrastructure.storage import (
    storage_delete,
    storage_exists,
    storage_read,
    storage_save,
    storage_signed_url,
)
from tests.images import image_bytes

KEY = "enterprise/org-org_test/photos/photo_test.jpg"
JPEG = image_bytes("JPEG", size=(320, 320))


def local_get(url: str):
    parts = urlsplit(url)
    return Client().get(f"{parts.path}?{parts.query}")


# --- local disk -------------------------------------------------------------------------------------


def test_local_signed_url_serves_the_object_until_it_expires(monkeypatch):
    storage_save(KEY, JPEG)
    url = storage_signed_url(KEY, ttl=60)
    response = local_get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == JPEG

    real_time = time.time
    monkeypatch.setattr(storage.time, "time", lambda: real_time() + 61)
    assert local_get(url).status_code == 404


def test_local_signed_url_with_a_changed_signature_name_or_expiry_is_a_404():
    storage_save(KEY, JPEG)
    storage_save("enterprise/other.jpg", JPEG)
    url = storage_signed_url(KEY, ttl=60)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    forged_signature = f"{parts.path}?expires={query['expires'][0]}&signature={'0' * 64}"
    assert Client().get(forged_signature).status_code == 404
    other_name = f"{parts.path.replace('photo_test.jpg', '../other.jpg')}?{parts.query}"
    assert Client().get(other_name).status_code == 404
    later = f"{parts.path}?expires={int(query['expires'][0]) + 3600}&signature={query['signature'][0]}"
    assert Client().get(later).status_code == 404
    assert Client().get(parts.path).status_code == 404  # no permanent unsigned URL


def test_local_delete_removes_the_object_and_the_link_stops_working():
    storage_save(KEY, JPEG)
    url = storage_signed_url(KEY)
    storage_delete(KEY)
    assert not storage_exists(KEY)
    assert local_get(url).status_code == 404
    storage_delete(KEY)  # deleting twice is fine: erasure retries must be idempotent


def test_saving_again_overwrites_under_the_same_name():
    storage_save(KEY, b"first")
    storage_save(KEY, b"second")
    assert storage_read(KEY) == b"second"


# --- S3 (moto server on loopback) -------------------------------------------------------------------


def test_s3_upload_presigned_get_and_delete(s3_storage):
    assert storage_save(KEY, JPEG) == KEY
    assert s3_storage.keys() == [KEY]
    assert storage_exists(KEY) and storage_read(KEY) == JPEG

    url = storage_signed_url(KEY, ttl=120)
    assert url.startswith(s3_storage.endpoint_url)
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == JPEG
    assert response.headers["Content-Type"] == "image/jpeg"

    storage_delete(KEY)
    assert s3_storage.keys() == []
    assert not storage_exists(KEY)
    assert requests.get(url, timeout=10).status_code == 404
    storage_delete(KEY)  # idempotent on S3 as well


def test_s3_objects_are_private_and_presigned_urls_carry_their_expiry(s3_storage, settings):
    storage_save(KEY, JPEG)
    plain = f"{s3_storage.endpoint_url}/{s3_storage.bucket}/{KEY}"
    assert requests.get(plain, timeout=10).status_code == 403  # no public URL, ever

    # moto does not enforce presigned expiry (S3 does); what we control is the expiry we sign.

    query = parse_qs(urlsplit(storage_signed_url(KEY, ttl=90)).query)
    assert query["X-Amz-Expires"] == ["90"]
    assert query["X-Amz-Signature"][0]
    default = parse_qs(urlsplit(storage_signed_url(KEY)).query)
    assert default["X-Amz-Expires"] == [str(settings.SIGNED_URL_TTL_SECONDS)]


@pytest.mark.django_db
def test_photo_upload_through_the_api_lands_in_s3_and_its_url_downloads(
    s3_storage, organization, partner_client
):
    customer_upsert(organization_id=organization.id, external_id="s3-shopper")
    response = partner_client(organization).post(
        "/api/v1/customers/s3-shopper/photos",
        {"photo": SimpleUploadedFile("me.png", image_bytes("PNG", size=(640, 480)), "image/png")},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert s3_storage.keys() == [body["photoS3Key"]]
    download = requests.get(body["photoUrl"], timeout=10)
    assert download.status_code == 200
    assert Image.open(io.BytesIO(download.content)).size == (640, 480)
