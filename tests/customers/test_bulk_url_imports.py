"""Imports from a URL: fetched by the worker through the outbound guard, with its size and time limits."""

import time

import pytest

from customers.bulk import imports
from customers.bulk import settings as limits
from customers.models import Customer, CustomerImport
from tests.http_servers import LocalServer, QuietHandler, SlowServer

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/imports"
CSV = b"externalId,name\nu1,Una\nu2,Uli\n"


class FileHandler(QuietHandler):
    body = CSV

    def do_GET(self):
        self.reply(200, self.body, {"Content-Type": "text/csv"})


@pytest.fixture
def file_server():
    with LocalServer(FileHandler) as server:
        yield server


@pytest.fixture
def loopback_allowed(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # development/test switch: the file server is on loopback


def test_a_url_import_is_fetched_by_the_worker_and_its_query_is_never_echoed(
    customer_client, file_server, loopback_allowed
):
    url = file_server.url("/exports/customers.csv?token=s3cr3t")
    accepted = customer_client.post(URL, {"url": url}, format="json")
    assert accepted.status_code == 202, accepted.content
    body = accepted.json()
    assert body["sourceUrl"] == file_server.url("/exports/customers.csv")
    assert (body["format"], body["fileName"]) == ("csv", "customers.csv")
    assert "s3cr3t" not in accepted.content.decode()

    imports.customer_import_process(import_id=body["id"])
    done = customer_client.get(f"{URL}/{body['id']}").json()
    assert done["status"] == "completed" and done["counts"]["created"] == 2
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["Uli", "Una"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/c.csv",
        "https://10.0.0.8/c.csv",
        "https://localhost/c.csv",
        "ftp://a.example/c.csv",
    ],
)
def test_a_private_or_non_https_url_is_refused_before_a_job_exists(customer_client, url):
    response = customer_client.post(URL, {"url": url, "format": "csv"}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "ValidationError" and "url" in response.json()["details"]
    assert not CustomerImport.objects.exists()


def test_a_url_serving_more_than_the_size_limit_fails_the_job(
    customer_client, file_server, loopback_allowed, monkeypatch
):
    monkeypatch.setattr(limits, "IMPORT_MAX_BYTES", 20)
    accepted = customer_client.post(URL, {"url": file_server.url("/c.csv")}, format="json")
    imports.customer_import_process(import_id=accepted.json()["id"])
    done = customer_client.get(f"{URL}/{accepted.json()['id']}").json()
    assert done["status"] == "failed" and done["error"]["code"] == "FileTooLarge"
    assert not Customer.objects.exists()


@pytest.mark.slow
def test_a_url_answering_one_byte_a_second_is_cut_off_at_the_default_deadline(
    customer_client, loopback_allowed
):
    # Each byte arrives well inside any per-read timeout: only the total deadline (30 s default) stops it.
    server = SlowServer("body", trickle_bytes=limits.IMPORT_FETCH_TIMEOUT_SECONDS + 15)
    try:
        accepted = customer_client.post(URL, {"url": server.url("/c.csv")}, format="json")
        started = time.monotonic()
        imports.customer_import_process(import_id=accepted.json()["id"])
        elapsed = time.monotonic() - started
    finally:
        server.close()
    done = customer_client.get(f"{URL}/{accepted.json()['id']}").json()
    assert done["status"] == "failed" and done["error"]["code"] == "FetchFailed"
    assert limits.IMPORT_FETCH_TIMEOUT_SECONDS - 1 <= elapsed < limits.IMPORT_FETCH_TIMEOUT_SECONDS + 5
