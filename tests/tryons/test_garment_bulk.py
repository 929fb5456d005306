"""Catalogue imports and exports through the bulk jobs: rows upserted as POST /v1/garments (each new image
fetched after its batch), per-row errors, the same caps as customer files, the files an export writes taken
back unchanged, and jobs kept apart from customer jobs, other organizations and keys without the scope."""

import csv
import io
import json

import openpyxl
import pytest

from customers.bulk import exports, imports
from customers.bulk import settings as limits
from tests.tryons.catalogue_fixtures import URL as GARMENTS
from tests.tryons.catalogue_fixtures import register_garment
from tryons.catalogue.models import Garment
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_private")]

IMPORTS = f"{GARMENTS}/imports"
EXPORTS = f"{GARMENTS}/exports"


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization)


def _file(content: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def _import(client, content: bytes, name: str, capture) -> dict:
    """Upload, run the job as the bulk worker does (its fetches queued on commit), and read it back."""
    accepted = client.post(IMPORTS, {"file": _file(content, name)}, format="multipart")
    assert accepted.status_code == 202, accepted.content
    with capture(execute=True):
        imports.customer_import_process(import_id=accepted.json()["id"])
    return client.get(f"{IMPORTS}/{accepted.json()['id']}").json()


def _export(client, fmt: str) -> bytes:
    accepted = client.post(EXPORTS, {"format": fmt}, format="json")
    assert accepted.status_code == 202, accepted.content
    exports.customer_export_process(export_id=accepted.json()["id"])
    done = client.get(f"{EXPORTS}/{accepted.json()['id']}").json()
    assert done["status"] == "completed", done
    response = client.get(done["fileUrl"].removeprefix("http://127.0.0.1:8000"))
    return b"".join(response.streaming_content)


def _csv(garment_server, rows: list[str]) -> bytes:
    return (
        ("productId,variantId,imageUrl,category,name,metadata\n" + "\n".join(rows) + "\n")
        .format(tee=garment_server.garment_url("tshirt"), jeans=garment_server.garment_url("jeans"))
        .encode()
    )


def test_a_csv_of_garments_is_upserted_row_by_row_and_each_new_image_fetched(
    client, organization, garment_server, fetches, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        register_garment(client, garment_server, product="tee")  # the tshirt, stored before
        register_garment(client, garment_server, product="old", image="dress")
    fetches()
    rows = [
        "tee,,{tee},tops,,",  # as stored: unchanged
        'old,,{jeans},bottoms,Old jeans,"{{""season"": ""fw""}}"',  # a new image: updated and fetched again
        "new,red,{jeans},bottoms,New jeans,",
        "bad,,{jeans},hats,,",  # not a category
        "nourl,,,tops,,",  # imageUrl is required, as for POST /v1/garments
        'meta,,{tee},tops,,"{{""broken"": "',
    ]
    job = _import(client, _csv(garment_server, rows), "garments.csv", django_capture_on_commit_callbacks)
    assert job["status"] == "completed", job
    counts = {key: job["counts"][key] for key in ("created", "updated", "unchanged", "failed")}
    assert counts == {"created": 1, "updated": 1, "unchanged": 1, "failed": 3}
    errors = client.get(f"{IMPORTS}/{job['id']}/errors").json()["data"]
    assert [(error["row"], error["field"]) for error in errors] == [
        (5, "category"),
        (6, "imageUrl"),
        (7, "metadata"),
    ]
    assert sorted(fetches()) == ["ready", "ready"], "the new garment and the new image, each once"
    new = Garment.objects.get(organization=organization, product_id="new", variant_id="red")
    old = Garment.objects.get(organization=organization, product_id="old")
    assert new.status == old.status == "ready" and new.name == "New jeans"
    assert old.category == "bottoms" and old.metadata == {"season": "fw"}
    event = WebhookEvent.objects.get(event="garments.imported")
    assert json.loads(event.body)["data"]["counts"]["created"] == 1
    assert not WebhookEvent.objects.filter(event="customers.imported").exists()


def test_json_lines_and_xlsx_import_the_same_columns(
    client, organization, garment_server, fetches, django_capture_on_commit_callbacks
):
    url = garment_server.garment_url("tshirt")
    lines = [
        {"productId": "j1", "imageUrl": url, "category": "tops", "metadata": {"a": [1]}, "color": "red"},
        {"productId": "j2", "imageUrl": url, "category": "dresses", "garmentPhotoType": "flat-lay"},
    ]
    content = "\n".join(json.dumps(line) for line in lines).encode()
    job = _import(client, content, "garments.jsonl", django_capture_on_commit_callbacks)
    assert job["counts"]["created"] == 2 and job["ignoredColumns"] == ["color"]
    workbook = openpyxl.Workbook()
    workbook.active.append(["productId", "imageUrl", "category", "garmentPhotoType"])
    workbook.active.append(["x1", url, "outerwear", "model"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = _import(client, buffer.getvalue(), "garments.xlsx", django_capture_on_commit_callbacks)
    assert job["counts"]["created"] == 1, job
    garments = Garment.objects.filter(organization=organization).order_by("product_id")
    assert [(g.product_id, g.category, g.garment_photo_type) for g in garments] == [
        ("j1", "tops", ""),
        ("j2", "dresses", "flat-lay"),
        ("x1", "outerwear", "model"),
    ]
    assert Garment.objects.get(product_id="j1").metadata == {"a": [1]}


def test_a_file_without_a_product_id_column_or_over_the_caps_fails_whole(
    client, organization, garment_server, django_capture_on_commit_callbacks, monkeypatch
):
    job = _import(
        client, b"externalId,email\nc1,a@example.com\n", "x.csv", django_capture_on_commit_callbacks
    )
    assert job["status"] == "failed" and job["error"]["code"] == "MissingHeader"
    assert "productId" in job["error"]["message"]
    monkeypatch.setattr(limits, "IMPORT_MAX_ROWS", 2)
    rows = [f"p{n},,{{tee}},tops,," for n in range(3)]
    job = _import(client, _csv(garment_server, rows), "g.csv", django_capture_on_commit_callbacks)
    assert job["status"] == "failed" and job["error"]["code"] == "TooManyRows"
    assert not Garment.objects.filter(organization=organization).exists(), "nothing of a refused file"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx"])
def test_an_export_lists_the_catalogue_and_imports_back_unchanged(
    fmt, client, organization, other_organization, partner_client, garment_server, fetches,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        register_garment(client, garment_server, product="tee", name='=HYPERLINK("http://x")')
        register_garment(client, garment_server, product="dress", image="dress", category="dresses",
                         variantId="v1", metadata={"k": "v"})  # fmt: skip
        register_garment(partner_client(other_organization), garment_server, product="theirs")
    fetches()
    content = _export(client, fmt)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(content.decode())))
        assert rows[0]["name"] == '\'=HYPERLINK("http://x")', "inert in a spreadsheet"
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in content.decode().splitlines()]
        assert rows[1]["metadata"] == {"k": "v"} and rows[0]["variantId"] is None
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
        rows = list(sheet.iter_rows(values_only=True))[1:]
        rows = [{"productId": row[1]} for row in rows]
    assert [row["productId"] for row in rows] == ["tee", "dress"], "this organization's, oldest first"
    job = _import(client, content, f"back.{fmt}", django_capture_on_commit_callbacks)
    # A spreadsheet's neutralized formula reads back with its quote; JSON Lines is the faithful copy.
    expected = {"unchanged": 2, "updated": 0} if fmt == "jsonl" else {"unchanged": 1, "updated": 1}
    assert job["status"] == "completed", job
    assert {key: job["counts"][key] for key in expected} == expected
    assert fetches() == [], "no image changed: nothing fetched"


def test_garment_jobs_are_apart_from_customer_jobs_other_organizations_and_keys_without_the_scope(
    client, organization, other_organization, partner_client, garment_server,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    content = _csv(garment_server, ["a,,{tee},tops,,"])
    job = _import(client, content, "g.csv", django_capture_on_commit_callbacks)
    customer_job = client.post(
        "/api/v1/customers/imports", {"file": _file(b"externalId\nc1\n", "c.csv")}, format="multipart"
    ).json()
    assert client.get(f"/api/v1/customers/imports/{job['id']}").status_code == 404
    assert client.get(f"{IMPORTS}/{customer_job['id']}").status_code == 404
    assert [listed["id"] for listed in client.get(IMPORTS).json()["data"]] == [job["id"]]
    assert partner_client(other_organization).get(f"{IMPORTS}/{job['id']}").status_code == 404
    customers_only = partner_client(organization, scopes=["customers:create", "customers:read"])
    reader = partner_client(organization, scopes=["garments:read"])
    for caller, method, path in [
        (customers_only, "post", EXPORTS),
        (customers_only, "get", IMPORTS),
        (reader, "get", IMPORTS),
        (reader, "post", IMPORTS),
    ]:
        answer = getattr(caller, method)(path)
        assert answer.status_code == 403, (method, path, answer.content)
    assert reader.post(EXPORTS, {"format": "csv"}, format="json").status_code == 202
