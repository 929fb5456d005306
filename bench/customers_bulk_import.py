"""Rows/s of a 100,000-row CSV import against the same kind of rows through `POST /v1/customers` in a loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_bulk_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        DJANGO_SECRET_KEY=... .venv/bin/python bench/customers_bulk_import.py

Both sides run in this process on PostgreSQL and Redis and create new customers (two organizations, the
same row shapes). The import is timed from the multipart `POST /v1/customers/imports` to the job's
completion, running the service the `bulk.import_customers` task calls; the API loop sends one
authenticated, rate-limited, usage-logged request per customer through Django's test client (no network,
which favours the loop). The loop runs on the first LOOP_ROWS rows: its rate is flat, and 100,000 single
requests would take minutes. Target: import/api >= 10.
"""

import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="garmax-bench-"))
if not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")):
    sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL.")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from api.ids import new_id  # noqa: E402
from apikeys.services import apikey_create  # noqa: E402
from customers.bulk import imports  # noqa: E402
from customers.models import Customer, CustomerImport  # noqa: E402
from organizations.services import organization_create  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

ROWS = 100_000
LOOP_ROWS = 2_000


def row(n: int) -> dict:
    return {
        "externalId": f"cust-{n:06d}",
        "email": f"shopper{n}@example.com",
        "name": f"Shopper {n}",
        "metadata": {"segment": "premium" if n % 3 else "standard", "n": n},
    }


def client_for(name: str) -> tuple[APIClient, str]:
    organization = organization_create(owner=UserFactory(username=new_id("bench")), name=name)
    _, key = apikey_create(organization=organization, name="bench", scopes=["all"], rate_limit=10_000)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client, organization.id


def csv_body(count: int) -> bytes:
    import csv
    import json

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["externalId", "email", "name", "metadata"])
    for n in range(count):
        r = row(n)
        writer.writerow([r["externalId"], r["email"], r["name"], json.dumps(r["metadata"])])
    return buffer.getvalue().encode()


def main():
    call_command("migrate", verbosity=0)

    loop_client, loop_org = client_for("bench-api-loop")
    started = time.perf_counter()
    for n in range(LOOP_ROWS):
        response = loop_client.post("/api/v1/customers", row(n), format="json")
        assert response.status_code == 201, response.content
    api_rate = LOOP_ROWS / (time.perf_counter() - started)
    assert Customer.objects.filter(organization_id=loop_org).count() == LOOP_ROWS

    import_client, import_org = client_for("bench-import")
    upload = io.BytesIO(csv_body(ROWS))
    upload.name = "customers.csv"
    size = len(upload.getvalue())
    started = time.perf_counter()
    accepted = import_client.post("/api/v1/customers/imports", {"file": upload}, format="multipart")
    assert accepted.status_code == 202, accepted.content
    imports.customer_import_process(import_id=accepted.json()["id"])
    import_rate = ROWS / (time.perf_counter() - started)
    job = CustomerImport.objects.get(id=accepted.json()["id"])
    assert (job.status, job.created_count, job.failed_count) == ("completed", ROWS, 0), job.error_message
    assert Customer.objects.filter(organization_id=import_org).count() == ROWS

    upload.seek(0)
    started = time.perf_counter()
    again = import_client.post("/api/v1/customers/imports", {"file": upload}, format="multipart")
    imports.customer_import_process(import_id=again.json()["id"])
    reimport_rate = ROWS / (time.perf_counter() - started)
    job = CustomerImport.objects.get(id=again.json()["id"])
    assert (job.unchanged_count, job.created_count, job.updated_count) == (ROWS, 0, 0)

    print(f"API loop: {LOOP_ROWS} customers one POST at a time: {api_rate:,.0f} rows/s")
    print(f"CSV import: {ROWS:,} rows ({size / 1e6:.1f} MB), upload to completed: {import_rate:,.0f} rows/s")
    print(f"CSV re-import of the same file (all unchanged): {reimport_rate:,.0f} rows/s")
    print(f"import/api = {import_rate / api_rate:.1f} (target >= 10)")


if __name__ == "__main__":
    main()
