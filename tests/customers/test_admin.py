import pytest
from django.contrib.admin.utils import quote
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, Photo
from customers.services import customer_upsert
from infrastructure.storage import storage_exists
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123456")


@pytest.fixture
def photographed(organization, other_organization, customer_client):
    customer_upsert(organization_id=organization.id, external_id="jane.doe", email="jane@example.com")
    customer_upsert(organization_id=other_organization.id, external_id="bob", email="bob@rival.example")
    response = customer_client.post(
        "/api/v1/customers/jane.doe/photos",
        {"photo": SimpleUploadedFile("a.jpg", image_bytes("JPEG", size=(400, 400)))},
        format="multipart",
    )
    assert response.status_code == 200
    return response.json()


def test_customer_list_shows_signed_thumbnails_and_searches_by_external_id_and_email(
    client, support_staff, photographed
):
    client.force_login(support_staff)
    url = reverse("admin:customers_customer_changelist")
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "/media/signed/" + photographed["photoS3Key"] in html and "signature=" in html
    assert "jane.doe" in html and "bob" in html

    by_id = client.get(url, {"q": "jane.doe"}).content.decode()
    assert "jane.doe" in by_id and "bob@rival.example" not in by_id
    by_email = client.get(url, {"q": "bob@rival"}).content.decode()
    assert "bob@rival.example" in by_email and "jane@example.com" not in by_email


def test_customer_list_filters_by_organization(client, support_staff, photographed, other_organization):
    client.force_login(support_staff)
    page = client.get(
        reverse("admin:customers_customer_changelist"), {"organization__id__exact": other_organization.id}
    )
    html = page.content.decode()
    assert "bob@rival.example" in html and "jane@example.com" not in html


def test_customer_page_shows_photos_read_only(client, support_staff, photographed):
    client.force_login(support_staff)
    customer = Customer.objects.get(external_id="jane.doe")
    page = client.get(reverse("admin:customers_customer_change", args=[quote(customer.pk)]))
    assert page.status_code == 200
    assert photographed["photoS3Key"] in page.content.decode()
    photo_page = client.get(reverse("admin:customers_photo_change", args=[quote(photographed["id"])]))
    assert photo_page.status_code == 200
    assert client.get(reverse("admin:customers_photo_add")).status_code == 403


def test_photos_cannot_be_changed_or_deleted_in_admin(client, superuser, photographed):
    client.force_login(superuser)
    delete_url = reverse("admin:customers_photo_delete", args=[quote(photographed["id"])])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Photo.objects.filter(id=photographed["id"]).exists()


def test_deleting_a_customer_in_admin_erases_its_photos(
    client, superuser, photographed, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    customer = Customer.objects.get(external_id="jane.doe")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:customers_customer_delete", args=[quote(customer.pk)]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not storage_exists(photographed["photoS3Key"])


def test_customer_and_photo_lists_link_their_ids_and_related_rows(
    client, support_staff, organization, photographed
):
    client.force_login(support_staff)
    customer = Customer.objects.get(external_id="jane.doe")
    customers = client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert reverse("admin:customers_customer_change", args=[quote(customer.pk)]) in customers
    assert reverse("admin:organizations_organization_change", args=[quote(organization.pk)]) in customers
    photos = client.get(reverse("admin:customers_photo_changelist")).content.decode()
    assert reverse("admin:customers_photo_change", args=[quote(photographed["id"])]) in photos
    assert reverse("admin:customers_customer_change", args=[quote(customer.pk)]) in photos
    assert customer.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") in customers
