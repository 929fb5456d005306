"""Customer exports: the file's rows, latest photo keys, formula neutralizing, signed expiring URLs."""

import csv
import io
import json
from datetime import timedelta

import openpyxl
import pytest
from django.utils import timezone

from customers.bulk import exports
from customers.models import Customer, CustomerExport, PendingErasure, Photo
from customers.services import customer_upsert

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/exports"


def export(client, **body) -> dict:
    accepted = client.post(URL, body, format="json")
    assert accepted.status_code == 202, accepted.content
    assert accepted.json()["status"] == "queued" and accepted.json()["fileUrl"] is None
    exports.customer_export_process(export_id=accepted.json()["id"])
    done = client.get(f"{URL}/{accepted.json()['id']}").json()
    assert done["status"] == "completed", done
    return done


def download(client, done) -> bytes:
    response = client.get(done["fileUrl"].removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.fixture
def customers(organization, other_organization):
    customer_upsert(organization_id=organization.id, external_id="c1", email="a@example.com", name="Ann")
    evil, _ = customer_upsert(
        organization_id=organization.id, external_id="c2", name='=HYPERLINK("http://x")', metadata={"k": "v"}
    )
    for n, key in enumerate(["old", "new"]):
        Photo.objects.create(
            organization=organization,
            customer=evil,
            storage_key=f"enterprise/org-{organization.id}/photos/{key}.jpg",
            content_type="image/jpeg",
            width=1,
            height=1,
            size_bytes=1,
        )
        Photo.objects.filter(storage_key__endswith=f"{key}.jpg").update(
            uploaded_at=timezone.now() + timedelta(seconds=n)
        )
    customer_upsert(organization_id=other_organization.id, external_id="theirs")


def test_a_csv_export_has_every_customer_with_its_latest_photo_key_and_no_formula(
    customer_client, customers, organization
):
    done = export(customer_client, format="csv")
    assert done["progress"] == 100 and done["counts"] == {"total": 2, "processed": 2}
    assert done["fileUrlExpiresAt"].endswith("Z") and done["fileExpiresAt"].endswith("Z")
    rows = list(csv.DictReader(io.StringIO(download(customer_client, done).decode())))
    assert [r["externalId"] for r in rows] == ["c1", "c2"]  # never the other organization's
    assert rows[1]["name"] == '\'=HYPERLINK("http://x")'
    assert rows[1]["latestPhotoS3Key"] == f"enterprise/org-{organization.id}/photos/new.jpg"
    assert json.loads(rows[1]["metadata"]) == {"k": "v"}
    assert rows[0]["email"] == "a@example.com" and rows[0]["latestPhotoS3Key"] == ""


def test_an_xlsx_export_holds_no_formula_cell(customer_client, customers):
    done = export(customer_client, format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(download(customer_client, done))).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert '\'=HYPERLINK("http://x")' in [cell.value for cell in cells]


def test_a_json_lines_export_keeps_values_as_stored_and_filters_apply(customer_client, customers):
    Customer.objects.filter(external_id="c1").update(created_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    done = export(customer_client, format="jsonl", filters={"createdAfter": since})
    lines = [json.loads(line) for line in download(customer_client, done).decode().splitlines()]
    assert [line["externalId"] for line in lines] == ["c2"]
    assert lines[0]["name"] == '=HYPERLINK("http://x")' and lines[0]["metadata"] == {"k": "v"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "format"),
        ({"format": "pdf"}, "format"),
        ({"format": "csv", "filters": {"createdAfter": "soon"}}, "filters"),
    ],
)
def test_a_bad_export_request_is_a_validation_error(customer_client, body, field):
    response = customer_client.post(URL, body, format="json")
    assert response.status_code == 400 and field in response.json()["details"]
    assert not CustomerExport.objects.exists()


def test_an_expired_export_file_is_erased_and_no_longer_linked(customer_client, customers):
    done = export(customer_client, format="csv")
    job = CustomerExport.objects.get(id=done["id"])
    CustomerExport.objects.filter(id=job.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert customer_client.get(f"{URL}/{job.id}").json()["fileUrl"] is None
    assert exports.customer_exports_expire() == 1
    assert CustomerExport.objects.get(id=job.id).storage_key == ""
    assert not PendingErasure.objects.filter(storage_key=job.storage_key).exists()  # erased at once
    assert exports.customer_exports_expire() == 0


def test_another_organizations_export_is_a_404_and_exports_need_customers_read(
    customer_client, customers, organization, other_organization, partner_client
):
    done = export(customer_client, format="csv")
    assert partner_client(other_organization).get(f"{URL}/{done['id']}").status_code == 404
    writer = partner_client(organization, scopes=("customers:create",))
    assert writer.post(URL, {"format": "csv"}, format="json").json()["error"] == "InvalidScope"


def test_jobs_whose_worker_died_or_whose_message_was_lost_are_queued_again(organization, monkeypatch):
    from customers.bulk import queue

    queued = []
    monkeypatch.setattr(queue, "bulk_job_enqueue", lambda task_name, job_id: queued.append(job_id))
    long_ago = timezone.now() - timedelta(minutes=30)
    dead = CustomerExport.objects.create(organization=organization, format="csv", status="processing")
    CustomerExport.objects.filter(id=dead.id).update(heartbeat_at=long_ago)
    lost = CustomerExport.objects.create(organization=organization, format="csv")
    CustomerExport.objects.filter(id=lost.id).update(created_at=long_ago)
    CustomerExport.objects.create(organization=organization, format="csv")  # fresh: its message is on its way
    alive = CustomerExport.objects.create(organization=organization, format="csv", status="processing")
    CustomerExport.objects.filter(id=alive.id).update(heartbeat_at=timezone.now())

    assert exports.bulk_jobs_requeue_stale() == 2
    assert sorted(queued) == sorted([dead.id, lost.id])
    assert exports.bulk_jobs_requeue_stale() == 0  # stamped: not queued again while that message waits


def test_an_early_filter_date_is_echoed_as_a_valid_date_time(customer_client):
    # strftime("%Y") wrote year 330 as "330-04-12T..."; found by the e2e fuzzing (issue 21 item 6).
    response = customer_client.post(
        URL, {"format": "csv", "filters": {"updatedAfter": "0330-04-12T03:39:46Z"}}, format="json"
    )
    assert response.status_code == 202, response.json()
    assert response.json()["filters"]["updatedAfter"] == "0330-04-12T03:39:46.000000Z"
