"""The admin lists import and export jobs, read-only."""

import io

import pytest
from django.contrib.admin.utils import quote

from customers.bulk import imports
from customers.models import CustomerExport, CustomerImport

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(customer_client, organization):
    upload = io.BytesIO(b"externalId,email\nc1,bad\nc2,\n")
    upload.name = "people.csv"
    accepted = customer_client.post("/api/v1/customers/imports", {"file": upload}, format="multipart")
    imports.customer_import_process(import_id=accepted.json()["id"])
    return CustomerImport.objects.get(), CustomerExport.objects.create(
        organization=organization, format="xlsx"
    )


def test_support_staff_see_import_and_export_jobs_with_their_row_errors(client, support_staff, jobs):
    customer_import, customer_export = jobs
    client.force_login(support_staff)
    listing = client.get("/admin/customers/customerimport/")
    assert listing.status_code == 200
    assert customer_import.id in listing.content.decode() and "people.csv" in listing.content.decode()
    detail = client.get(f"/admin/customers/customerimport/{quote(customer_import.id)}/change/")
    assert detail.status_code == 200 and "Enter a valid email address." in detail.content.decode()
    assert customer_export.id in client.get("/admin/customers/customerexport/").content.decode()


def test_jobs_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, jobs):
    customer_import, _ = jobs
    assert admin_client.get("/admin/customers/customerimport/add/").status_code == 403
    url = f"/admin/customers/customerimport/{quote(customer_import.id)}/change/"
    assert admin_client.post(url, {"status": "queued"}).status_code == 403
    assert (
        admin_client.get(f"/admin/customers/customerimport/{quote(customer_import.id)}/delete/").status_code
        == 403
    )
    assert CustomerImport.objects.get().status == "completed"
