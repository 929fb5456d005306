"""Customer imports: accepted files, rows upserted like POST /v1/customers, per-row errors, refused files."""

import io
import json
import zipfile

import openpyxl
import pytest
from django.core.files.storage import default_storage

from customers.bulk import imports
from customers.bulk import settings as limits
from customers.models import Customer, CustomerImport, CustomerImportError, PendingErasure
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/imports"


def csv_file(text: str, name: str = "customers.csv") -> io.BytesIO:
    upload = io.BytesIO(text.encode("utf-8") if isinstance(text, str) else text)
    upload.name = name
    return upload


def xlsx_file(rows: list[list], name: str = "customers.xlsx") -> io.BytesIO:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    upload = io.BytesIO()
    workbook.save(upload)
    upload.seek(0)
    upload.name = name
    return upload


def start(client, upload, **fields):
    return client.post(URL, {"file": upload, **fields}, format="multipart")


def run(response) -> dict:
    """Process the accepted job as the bulk worker would, and return it as the API shows it."""
    assert response.status_code == 202, response.content
    imports.customer_import_process(import_id=response.json()["id"])
    return response.json()["id"]


def job(client, import_id) -> dict:
    response = client.get(f"{URL}/{import_id}")
    assert response.status_code == 200, response.content
    return response.json()


def errors(client, import_id, **params) -> dict:
    response = client.get(f"{URL}/{import_id}/errors", params)
    assert response.status_code == 200, response.content
    return response.json()


CSV = (
    "externalId,email,name,metadata\n"
    'c1,ann@example.com,Ann,"{""tier"": ""gold""}"\n'
    "c2,bob@example.com,Bob,\n"
    "c3,not-an-email,Cid,\n"
    'c4,,Dee,"{""broken"": "\n'
    "c5,eve@example.com,Eve,\n"
)


def test_a_csv_import_upserts_good_rows_and_lists_each_bad_row_with_its_field(customer_client, organization):
    accepted = start(customer_client, csv_file(CSV))
    body = accepted.json()
    assert body["id"].startswith("imp_")
    assert (body["status"], body["format"], body["fileName"], body["progress"]) == (
        "queued",
        "csv",
        "customers.csv",
        0,
    )
    import_id = run(accepted)

    done = job(customer_client, import_id)
    assert done["status"] == "completed" and done["progress"] == 100
    assert done["counts"] == {
        "total": 5,
        "processed": 5,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "failed": 2,
    }
    assert done["completedAt"].endswith("Z") and done["error"] is None
    customers = {c.external_id: c for c in Customer.objects.filter(organization=organization)}
    assert sorted(customers) == ["c1", "c2", "c5"]
    assert customers["c1"].metadata == {"tier": "gold"} and customers["c1"].name == "Ann"

    listed = errors(customer_client, import_id)
    assert listed["total"] == 2
    assert [(e["row"], e["field"]) for e in listed["data"]] == [(4, "email"), (5, "metadata")]
    assert "valid email" in listed["data"][0]["message"]


def test_rows_upsert_exactly_like_the_single_customer_api(customer_client, organization):
    customer_client.post(
        "/api/v1/customers",
        {"externalId": "c1", "email": "old@example.com", "name": "Old", "metadata": {"a": 1}},
        format="json",
    )
    # Columns left out and empty cells keep their values; metadata replaces the stored object.
    import_id = run(start(customer_client, csv_file('externalId,name,metadata\nc1,New,"{""b"": 2}"\n')))
    assert job(customer_client, import_id)["counts"]["updated"] == 1
    customer = customer_client.get("/api/v1/customers/c1").json()
    assert (customer["email"], customer["name"], customer["metadata"]) == ("old@example.com", "New", {"b": 2})


def test_importing_the_same_file_twice_changes_nothing_the_second_time(customer_client, organization):
    first = run(start(customer_client, csv_file(CSV)))
    before = {c.external_id: c.updated_at for c in Customer.objects.all()}
    second = run(start(customer_client, csv_file(CSV)))

    assert job(customer_client, first)["counts"]["created"] == 3
    counts = job(customer_client, second)["counts"]
    assert (counts["created"], counts["updated"], counts["unchanged"], counts["failed"]) == (0, 0, 3, 2)
    assert {c.external_id: c.updated_at for c in Customer.objects.all()} == before


def test_a_row_repeating_an_external_id_updates_the_customer_the_earlier_row_created(customer_client):
    import_id = run(start(customer_client, csv_file("externalId,name\nc1,First\nc1,Second\n")))
    assert job(customer_client, import_id)["counts"]["created"] == 1
    assert job(customer_client, import_id)["counts"]["updated"] == 1
    assert Customer.objects.get(external_id="c1").name == "Second"


def test_json_lines_and_xlsx_imports_read_the_same_fields(customer_client, organization):
    lines = "\n".join(
        [
            json.dumps({"externalId": "j1", "email": "j1@example.com", "metadata": {"deep": {"x": [1, 2]}}}),
            "",
            json.dumps({"externalId": "j2", "name": "Jay", "extra": "ignored"}),
            "[1, 2]",
            "{not json",
        ]
    )
    jsonl = run(start(customer_client, csv_file(lines, "people.jsonl")))
    done = job(customer_client, jsonl)
    assert (done["format"], done["counts"]["created"], done["counts"]["failed"]) == ("jsonl", 2, 2)
    assert done["ignoredColumns"] == ["extra"]
    assert [e["row"] for e in errors(customer_client, jsonl)["data"]] == [4, 5]
    assert Customer.objects.get(external_id="j1").metadata == {"deep": {"x": [1, 2]}}

    workbook = xlsx_file(
        [
            ["externalId", "name", "email", "metadata"],
            [12345, "Numeric id", None, None],
            ["x2", "Second", "x2@example.com", '{"vip": true}'],
            [None, None, None, None],
            ["x/3", "Bad id", None, None],
        ]
    )
    xlsx = run(start(customer_client, workbook))
    done = job(customer_client, xlsx)
    assert (done["format"], done["counts"]["created"], done["counts"]["failed"]) == ("xlsx", 2, 1)
    assert [(e["row"], e["field"]) for e in errors(customer_client, xlsx)["data"]] == [(5, "externalId")]
    assert Customer.objects.get(external_id="12345").name == "Numeric id"
    assert Customer.objects.get(external_id="x2").metadata == {"vip": True}


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        ("externalId,name\nc1,A\n", "c.xlsx", "WrongFormat"),
        (b"PK\x03\x04 not really a workbook", "c.csv", "WrongFormat"),
        (b"PK\x03\x04 not really a workbook", "c.jsonl", "WrongFormat"),
    ],
)
def test_a_file_whose_first_bytes_are_not_its_format_is_refused_at_once_and_nothing_is_stored(
    customer_client, content, name, code
):
    response = start(customer_client, csv_file(content, name))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "ValidationError" and body["details"]["fileError"] == [code]
    assert body["message"] == body["details"]["file"][0]
    assert not CustomerImport.objects.exists() and not Customer.objects.exists()
    assert not default_storage.exists("enterprise")


@pytest.mark.parametrize(
    ("content", "name", "fields", "code"),
    [
        ("email,name\na@example.com,A\n", "c.csv", {}, "MissingHeader"),
        ("\n\n", "c.csv", {}, "MissingHeader"),
        ("externalId,name\nc1,Ren\xe9e\n".encode("latin-1"), "c.csv", {}, "InvalidEncoding"),
        ('{"externalId": "c1"}\n{"name": "Ren\xe9e"}\n'.encode("latin-1"), "c.jsonl", {}, "InvalidEncoding"),
        ("externalId,name\nc1,A\n", "c.csv", {"format": "jsonl"}, "WrongFormat"),
        (b"PK\x03\x04 not really a workbook", "c.xlsx", {}, "WrongFormat"),
    ],
)
def test_a_file_that_cannot_be_imported_fails_its_job_with_the_reason_and_nothing_is_applied(
    customer_client, content, name, fields, code
):
    accepted = start(customer_client, csv_file(content, name), **fields)
    done = job(customer_client, run(accepted))
    assert (done["status"], done["error"]["code"]) == ("failed", code), done
    assert done["counts"]["processed"] == 0 and not Customer.objects.exists()


def test_an_unknown_extension_without_a_format_is_refused(customer_client):
    response = start(customer_client, csv_file("externalId\nc1\n", "customers.txt"))
    assert response.status_code == 400 and "format" in response.json()["details"]
    assert (
        start(customer_client, csv_file("externalId\nc1\n", "customers.txt"), format="csv").status_code == 202
    )


def test_neither_or_both_of_file_and_url_is_a_validation_error(customer_client):
    assert customer_client.post(URL, {}, format="json").json()["details"] == {
        "file": ["Send either a file (multipart) or a url, not both."]
    }
    both = customer_client.post(
        URL, {"file": csv_file("externalId\nc1\n"), "url": "https://example.com/c.csv"}, format="multipart"
    )
    assert both.status_code == 400


def test_a_file_with_more_rows_than_the_limit_fails_before_any_row_is_applied(customer_client, monkeypatch):
    monkeypatch.setattr(limits, "IMPORT_MAX_ROWS", 3)
    import_id = run(start(customer_client, csv_file("externalId\n" + "".join(f"c{n}\n" for n in range(4)))))
    done = job(customer_client, import_id)
    assert done["status"] == "failed" and done["error"]["code"] == "TooManyRows"
    assert "more than 3 data rows" in done["error"]["message"]
    assert not Customer.objects.exists()


def test_an_upload_larger_than_the_limit_is_refused_from_its_content_length(customer_client, monkeypatch):
    monkeypatch.setattr(limits, "IMPORT_MAX_BYTES", 1000)
    big = csv_file("externalId\n" + "c1\n" * 50_000)
    response = start(customer_client, big)
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLarge"
    assert response.json()["details"] == {"maxBytes": 1000}
    assert not CustomerImport.objects.exists()


def test_a_metadata_cell_nested_thousands_deep_is_that_rows_error_not_a_crash(customer_client):
    deep = "[" * 5000 + "]" * 5000
    hostile = "externalId,metadata\n" + f'c1,"{deep}"\n' + "c2,\n"
    import_id = run(start(customer_client, csv_file(hostile)))
    assert job(customer_client, import_id)["counts"]["created"] == 1
    (error,) = errors(customer_client, import_id)["data"]
    assert (error["row"], error["field"]) == (2, "metadata") and "nested deeper" in error["message"]

    line = '{"externalId": "c3", "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    jsonl = run(start(customer_client, csv_file('{"externalId": "c4"}\n' + line + "\n", "c.jsonl")))
    assert job(customer_client, jsonl)["counts"]["failed"] == 1
    assert errors(customer_client, jsonl)["data"][0]["row"] == 2


def test_a_zip_bomb_workbook_fails_its_job_before_it_is_inflated(customer_client, monkeypatch):
    monkeypatch.setattr(limits, "IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES", 1024 * 1024)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))  # 20 MB of zeros, ~20 KB
    bomb.seek(0)
    bomb.name = "bomb.xlsx"
    done = job(customer_client, run(start(customer_client, bomb)))
    assert (done["status"], done["error"]["code"]) == ("failed", "FileTooLarge")
    assert "inflates to more than 1048576 bytes" in done["error"]["message"]


def test_the_import_file_is_erased_once_the_job_ends(customer_client, organization):
    accepted = start(customer_client, csv_file("externalId\nc1\n"))
    key = CustomerImport.objects.get().storage_key
    assert key.startswith(f"enterprise/org-{organization.id}/imports/imp_") and default_storage.exists(key)
    run(accepted)
    assert PendingErasure.objects.filter(storage_key=key).exists()  # erased on commit, or by the retry task


def test_a_second_run_of_the_same_job_applies_no_row_twice(customer_client, monkeypatch):
    monkeypatch.setattr(limits, "IMPORT_BATCH_ROWS", 2)
    accepted = start(customer_client, csv_file("externalId,email\nc1,x\nc2,\nc3,\nc4,y\nc5,\n"))
    import_id = accepted.json()["id"]
    imports.customer_import_process(import_id=import_id)
    imports.customer_import_process(import_id=import_id)  # a redelivered message: nothing left to do
    counts = job(customer_client, import_id)["counts"]
    assert (counts["created"], counts["failed"], counts["processed"]) == (3, 2, 5)
    assert CustomerImportError.objects.filter(customer_import_id=import_id).count() == 2


def test_a_run_resumes_a_crashed_job_from_its_last_committed_batch(customer_client, monkeypatch):
    monkeypatch.setattr(limits, "IMPORT_BATCH_ROWS", 2)
    accepted = start(customer_client, csv_file("externalId\nc1\nc2\nc3\nc4\nc5\n"))
    import_id = accepted.json()["id"]
    applied = imports._apply
    calls = []

    def dies_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return applied(*args, **kwargs)

    monkeypatch.setattr(imports, "_apply", dies_on_the_second_batch)
    with pytest.raises(SystemExit):
        imports.customer_import_process(import_id=import_id)
    crashed = job(customer_client, import_id)
    assert (crashed["status"], crashed["counts"]["processed"], crashed["progress"]) == ("processing", 2, 40)

    monkeypatch.setattr(imports, "_apply", applied)
    imports.customer_import_process(import_id=import_id)
    assert job(customer_client, import_id)["counts"]["created"] == 5
    assert Customer.objects.count() == 5


def test_an_import_ending_records_the_customers_imported_webhook_event(
    customer_client, organization, settings
):
    from tests.webhooks.factories import make_webhook

    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # a loopback endpoint: nothing is sent in this test
    webhook = make_webhook(organization, "http://127.0.0.1:9/garmax", events=["customers.imported"])
    import_id = run(start(customer_client, csv_file(CSV)))
    event = WebhookEvent.objects.get(event="customers.imported")
    body = json.loads(event.body)
    assert body["data"]["id"] == import_id and body["data"]["status"] == "completed"
    assert body["data"]["counts"]["created"] == 3 and body["data"]["counts"]["failed"] == 2
    assert WebhookDelivery.objects.filter(event=event, webhook=webhook).count() == 1


def test_the_same_idempotency_key_replays_the_first_import_without_a_second_job(customer_client):
    headers = {"HTTP_IDEMPOTENCY_KEY": "import-2025-12-11"}
    first = customer_client.post(URL, {"file": csv_file("externalId\nc1\n")}, format="multipart", **headers)
    again = customer_client.post(URL, {"file": csv_file("externalId\nc1\n")}, format="multipart", **headers)
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert CustomerImport.objects.count() == 1
    other = customer_client.post(URL, {"file": csv_file("externalId\nc2\n")}, format="multipart", **headers)
    assert other.status_code == 422


def test_another_organizations_import_is_a_404(customer_client, other_organization, partner_client):
    import_id = run(start(customer_client, csv_file(CSV)))
    stranger = partner_client(other_organization)
    assert stranger.get(f"{URL}/{import_id}").status_code == 404
    assert stranger.get(f"{URL}/{import_id}/errors").json()["error"] == "ResourceNotFound"
    assert stranger.get(URL).json()["total"] == 0
    assert customer_client.get(URL).json()["data"][0]["id"] == import_id


def test_imports_need_the_customers_create_scope(organization, partner_client):
    reader = partner_client(organization, scopes=("customers:read",))
    response = start(reader, csv_file("externalId\nc1\n"))
    assert response.status_code == 403 and response.json()["error"] == "InvalidScope"
    assert reader.get(URL).status_code == 403
    assert not CustomerImport.objects.exists()


@pytest.mark.parametrize("external_id", ["imports", "exports"])
def test_the_collection_names_are_reserved_external_ids(customer_client, external_id):
    response = customer_client.post("/api/v1/customers", {"externalId": external_id}, format="json")
    assert response.status_code == 400 and "reserved" in response.json()["details"]["externalId"][0]
