import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from customers import services
from customers.models import Customer, PendingErasure, Photo
from customers.services import customer_delete, customer_upsert
from customers.tasks import retry_pending_erasures
from infrastructure.storage import storage_exists, storage_save
from tests.concurrency import run_concurrently
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper_with_photos(organization, customer_client):
    customer_upsert(organization_id=organization.id, external_id="leaving")
    keys = []
    for fmt, name in (("JPEG", "a.jpg"), ("PNG", "b.png")):
        response = customer_client.post(
            "/api/v1/customers/leaving/photos",
            {"photo": SimpleUploadedFile(name, image_bytes(fmt, size=(400, 400)))},
            format="multipart",
        )
        assert response.status_code == 200, response.content
        keys.append(response.json()["photoS3Key"])
    return keys


def test_deleting_a_customer_erases_its_photo_objects_and_rows(
    customer_client, shopper_with_photos, django_capture_on_commit_callbacks
):
    assert all(storage_exists(key) for key in shopper_with_photos)
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.delete("/api/v1/customers/leaving")
    assert response.status_code == 204
    assert not any(storage_exists(key) for key in shopper_with_photos)
    assert not Photo.objects.exists() and not Customer.objects.exists()
    assert not PendingErasure.objects.exists()


def test_erasure_removes_the_objects_from_s3(
    s3_storage, organization, customer_client, django_capture_on_commit_callbacks
):
    customer_upsert(organization_id=organization.id, external_id="leaving")
    response = customer_client.post(
        "/api/v1/customers/leaving/photos",
        {"photo": SimpleUploadedFile("a.webp", image_bytes("WEBP", size=(400, 400)))},
        format="multipart",
    )
    key = response.json()["photoS3Key"]
    assert s3_storage.keys() == [key]
    with django_capture_on_commit_callbacks(execute=True):
        assert customer_client.delete("/api/v1/customers/leaving").status_code == 204
    assert s3_storage.keys() == []


def test_try_on_results_are_erased_with_the_customer(
    organization, shopper_with_photos, django_capture_on_commit_callbacks
):
    from tryons.models import TryOn

    customer = Customer.objects.get(external_id="leaving")
    result_key = f"enterprise/org-{organization.id}/results/tryon_x.jpg"
    storage_save(result_key, b"rendered")
    tryon = TryOn.objects.create(
        organization=organization,
        customer=customer,
        photo_key=shopper_with_photos[0],
        product_id="prod_001",
        image_url="https://shop.example/p.jpg",
        category="tops",
        render_quality="sd",
        credits=Decimal("1"),
        status=TryOn.Status.COMPLETED,
        result_key=result_key,
    )
    with django_capture_on_commit_callbacks(execute=True):
        keys = customer_delete(organization_id=organization.id, external_id="leaving")
    assert result_key in keys
    assert not storage_exists(result_key)
    tryon.refresh_from_db()
    assert tryon.result_key == "" and tryon.photo_key == ""


def test_a_storage_failure_is_recorded_and_retried_by_the_beat_task(
    organization, shopper_with_photos, monkeypatch, django_capture_on_commit_callbacks
):
    def storage_down(name):
        raise ConnectionError("storage unreachable")

    monkeypatch.setattr(services, "storage_delete", storage_down)
    with django_capture_on_commit_callbacks(execute=True):
        customer_delete(organization_id=organization.id, external_id="leaving")

    assert not Customer.objects.exists()  # the rows go regardless
    pending = list(PendingErasure.objects.order_by("storage_key"))
    assert sorted(p.storage_key for p in pending) == sorted(shopper_with_photos)
    assert all(p.attempts == 1 and "ConnectionError" in p.last_error for p in pending)
    assert all(storage_exists(key) for key in shopper_with_photos)

    # Not due yet: the task leaves them alone.
    assert retry_pending_erasures() == 0
    monkeypatch.undo()
    PendingErasure.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert retry_pending_erasures() == 2
    assert not PendingErasure.objects.exists()
    assert not any(storage_exists(key) for key in shopper_with_photos)


def test_a_failed_retry_backs_off_and_keeps_the_record(organization, monkeypatch):
    storage_save("enterprise/stuck.jpg", b"x")
    PendingErasure.objects.create(
        storage_key="enterprise/stuck.jpg",
        organization_id=organization.id,
        reason="test",
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )
    monkeypatch.setattr(services, "storage_delete", lambda name: (_ for _ in ()).throw(OSError("disk")))
    assert retry_pending_erasures() == 0
    erasure = PendingErasure.objects.get()
    assert erasure.attempts == 1
    assert erasure.next_attempt_at > timezone.now() + timedelta(seconds=30)
    assert erasure.last_error == "OSError: disk"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retry_workers_erase_each_object_exactly_once(organization, monkeypatch):
    PendingErasure.objects.bulk_create(
        PendingErasure(
            storage_key=f"enterprise/due-{n}.jpg",
            organization_id=organization.id,
            reason="test",
            next_attempt_at=timezone.now() - timedelta(seconds=1),
        )
        for n in range(30)
    )
    deleted, lock = [], threading.Lock()

    def slow_delete(name):
        time.sleep(0.01)  # widen the window in which two workers could pick the same row
        with lock:
            deleted.append(name)

    monkeypatch.setattr(services, "storage_delete", slow_delete)
    run_concurrently(lambda _: services.pending_erasures_retry(), 4)
    assert sorted(deleted) == sorted(f"enterprise/due-{n}.jpg" for n in range(30))
    assert not PendingErasure.objects.exists()


def test_an_upload_racing_a_delete_leaves_no_object_behind(
    organization, monkeypatch, django_capture_on_commit_callbacks
):
    from io import BytesIO

    customer, _ = customer_upsert(organization_id=organization.id, external_id="racing")
    real_save = services.storage_save

    def save_then_customer_vanishes(name, content):
        real_save(name, content)
        Customer.objects.filter(pk=customer.pk).delete()  # the delete wins the race meanwhile
        saved.append(name)
        return name

    saved = []
    monkeypatch.setattr(services, "storage_save", save_then_customer_vanishes)
    with pytest.raises(services.ResourceNotFound):
        services.photo_upload(customer=customer, upload=BytesIO(image_bytes("JPEG", size=(400, 400))))
    assert saved and not storage_exists(saved[0])
    assert not PendingErasure.objects.exists()
