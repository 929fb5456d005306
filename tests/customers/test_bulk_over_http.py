"""Bulk imports and exports attacked from outside (issue 27, items 2, 11 and 14).

The README's production web command (tests/live_service.py) and a worker started as the README starts it,
both with default settings; data is built with the ORM, everything after that is HTTP.
"""

import csv
import io
import time
import zipfile

import pytest
import requests

from config.celery import app as celery_app
from customers.services import customer_upsert
from organizations import services as organization_services
from tests.concurrency import wait_until
from tests.factories import UserFactory, make_organization
from tests.live_service import live_service, partner_headers  # noqa: F401 (fixture)
from tests.organizations.admin_http import AdminSession
from tests.workers import stop_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

IMPORTS = "/api/v1/customers/imports"
EXPORTS = "/api/v1/customers/exports"
# What a spreadsheet runs as a formula when a cell starts with it (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ATTACKS = [
    "Jo;=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","x")',
    "a,=1+1",
    "a\n=1+1",
    'a;"=1+1',
    "a; -1+1",
    "@SUM(A1)",
    "\t=1",
]


@pytest.fixture(scope="module")
def worker(live_service, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """`celery -A config worker` (no -Q, as the README says) on the live service's database, Redis, disk."""
    celery_app.control.purge()  # messages an earlier run left in this Redis database
    log = tmp_path_factory.mktemp("bulk-worker") / "worker.log"
    process = live_service.start_worker("--loglevel", "INFO", "-c", "1", log=log)
    yield process
    stop_worker(process)
    print(log.read_text()[-3000:])


def upload(service, headers, name: str, content: bytes) -> tuple[requests.Response, float]:
    """POST the file as multipart; the time is the request's on the wire (the body is encoded before)."""
    request = requests.Request(
        "POST", service.url(IMPORTS), headers=headers, files={"file": (name, content)}
    ).prepare()
    with requests.Session() as session:
        started = time.monotonic()
        response = session.send(request, timeout=60)
        return response, time.monotonic() - started


def finished(service, headers, path: str, timeout: float = 60) -> dict:
    """Poll a job until it is completed or failed."""

    def ended() -> dict | None:
        job = requests.get(service.url(path), headers=headers, timeout=10).json()
        return job if job["status"] in ("completed", "failed") else None

    return wait_until(ended, timeout=timeout, interval=0.2, message=f"{path} to end")


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKBOOK_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Target="xl/workbook.xml" '
        f'Type="{RELATIONSHIPS}/officeDocument"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
        '<sheet name="customers" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{PACKAGE}">'
        f'<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="{RELATIONSHIPS}/worksheet"/>'
        f'<Relationship Id="rId2" Target="sharedStrings.xml" Type="{RELATIONSHIPS}/sharedStrings"/>'
        "</Relationships>"
    ),
    # One cell, A1, holding shared string 0: the header naming externalId.
    "xl/worksheets/sheet1.xml": (
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        "</sheetData></worksheet>"
    ),
}


def shared_strings_bomb(entries: int) -> bytes:
    """A workbook whose header cell names externalId and whose sharedStrings.xml holds `entries` more empty
    strings `<si><t/></si>`: 1.5 M of them zip to ~43 KB and inflate to 19.5 MB (issue 27, item 2)."""
    strings = f'<sst xmlns="{MAIN}"><si><t>externalId</t></si>'.encode() + b"<si><t/></si>" * entries
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in WORKBOOK_PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/sharedStrings.xml", strings + b"</sst>")
    return bomb.getvalue()


@pytest.mark.parametrize("entries", [1_500_000, 5_000_000])
def test_a_shared_strings_bomb_is_answered_at_once_and_its_job_fails_in_the_worker(
    live_service,  # noqa: F811
    worker,
    transactional_db,
    entries,
):
    headers = partner_headers(make_organization(), name="Bulk")
    bomb = shared_strings_bomb(entries)
    assert len(bomb) < 200_000

    response, elapsed = upload(live_service, headers, "customers.xlsx", bomb)

    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
    assert response.status_code == 202, response.text
    assert elapsed < 1.0, elapsed
    job = finished(live_service, headers, f"{IMPORTS}/{response.json()['id']}")
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "FileTooLarge" and "compress" in job["error"]["message"], job["error"]
    assert job["counts"]["processed"] == 0


def test_fifty_megabytes_of_newlines_as_json_lines_are_answered_at_once_and_fail_the_job(
    live_service,  # noqa: F811
    worker,
    transactional_db,
):
    headers = partner_headers(make_organization(), name="Bulk")

    response, elapsed = upload(live_service, headers, "people.jsonl", b"\n" * (50 * 1024 * 1024 - 4096))

    assert response.status_code == 202, response.text[:500]
    assert elapsed < 1.5, elapsed  # 50 MB on the wire and into storage; the old header check took 7.7 s here
    job = finished(live_service, headers, f"{IMPORTS}/{response.json()['id']}")
    assert job["status"] == "failed" and job["error"]["code"] == "WrongFormat", job
    assert "no JSON object" in job["error"]["message"]


def test_a_file_that_is_obviously_not_its_format_is_still_refused_at_once(
    live_service,  # noqa: F811
    transactional_db,
):
    headers = partner_headers(make_organization(), name="Bulk")
    response, _ = upload(live_service, headers, "customers.xlsx", b"externalId\nc1\n")
    assert response.status_code == 400
    assert response.json()["details"]["fileError"] == ["WrongFormat"]


def test_a_url_import_answers_the_same_for_a_private_and_an_unresolvable_host(
    live_service,  # noqa: F811
    worker,
    transactional_db,
):
    headers = partner_headers(make_organization(), name="Bulk")
    jobs = []
    # `vm` resolves to 127.0.0.1 on this machine (/etc/hosts); the other resolves nowhere.
    for url in ("https://vm/a.csv", "https://nonexistent-host-zz/a.csv"):
        started = time.monotonic()
        response = requests.post(live_service.url(IMPORTS), headers=headers, json={"url": url}, timeout=30)
        assert time.monotonic() - started < 1.0
        assert response.status_code == 202, response.text
        jobs.append(finished(live_service, headers, f"{IMPORTS}/{response.json()['id']}"))

    private, unresolvable = jobs
    assert private["status"] == unresolvable["status"] == "failed"
    assert private["error"] == unresolvable["error"], jobs
    assert private["error"]["code"] == "FetchFailed"
    assert private["error"]["message"].startswith("Could not fetch the file from that URL")


def cells(text: str, delimiter: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row]


def formula_cells(text: str, *, numbers_allowed: bool = False) -> dict[str, list[str]]:
    """The cells a spreadsheet would run, reading `text` with a `,` and with a `;` list separator."""
    found = {}
    for delimiter in (",", ";"):
        live = [
            cell
            for cell in cells(text, delimiter)
            if cell.lstrip(' "').startswith(FORMULA_STARTS) and not (numbers_allowed and _number(cell))
        ]
        if live:
            found[delimiter] = live
    return found


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_a_partner_csv_export_runs_no_formula_under_either_list_separator(
    live_service,  # noqa: F811
    worker,
    transactional_db,
):
    organization = make_organization()
    headers = partner_headers(organization, name="Bulk")
    for n, attack in enumerate(ATTACKS):
        customer_upsert(
            organization_id=organization.id, external_id=f"c{n}", name=attack, metadata={"k": attack}
        )

    accepted = requests.post(live_service.url(EXPORTS), headers=headers, json={"format": "csv"}, timeout=10)
    assert accepted.status_code == 202, accepted.text
    job = finished(live_service, headers, f"{EXPORTS}/{accepted.json()['id']}")
    assert job["status"] == "completed", job
    text = requests.get(job["fileUrl"], timeout=10).content.decode("utf-8")

    assert formula_cells(text) == {}
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(ATTACKS)
    assert text.startswith('"externalId","email","name","metadata"')  # every cell quoted


def test_the_staff_ledger_csv_export_runs_no_formula_under_either_list_separator(
    live_service,  # noqa: F811
    transactional_db,
    service_password_hasher,
):
    organization = make_organization(name="Jo;=cmd|' /C calc'!A0")
    staff = UserFactory(username="ledger-reader", is_staff=True, is_superuser=True, groups=["billing"])
    for attack in ATTACKS:
        organization_services.credits_top_up(
            organization=organization, amount=1, description=attack, actor=staff
        )
    admin = AdminSession(live_service, "ledger-reader")

    response = admin.get("/admin/organizations/creditledgerentry/export.csv")

    assert response.status_code == 200, response.text[:300]
    text = response.content.decode("utf-8")
    assert "calc" in text and len(list(csv.reader(io.StringIO(text, newline="")))) == len(ATTACKS) + 2
    assert formula_cells(text, numbers_allowed=True) == {}
