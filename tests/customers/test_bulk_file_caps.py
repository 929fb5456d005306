"""The worker's side of an import (issue 27, items 2 and 11): hostile files stop at a cap after bounded work
and memory, and every URL that cannot be fetched fails its job with one answer, the look-up included in the
fetch's deadline. The HTTP side is tests/customers/test_bulk_over_http.py."""

import io
import json
import socket
import time
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.bulk import imports
from customers.bulk import settings as limits
from customers.bulk.formats import xlsx
from customers.models import Customer, CustomerImport
from tests.customers.test_bulk_over_http import MAIN, WORKBOOK_PARTS, shared_strings_bomb
from tests.http_servers import LocalServer, QuietHandler, SlowServer

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def processed(organization, content: bytes, name: str) -> CustomerImport:
    """Accept the upload as the web request does, then run the job as the worker does."""
    job = imports.customer_import_create(
        organization_id=organization.id, upload=SimpleUploadedFile(name, content)
    )
    imports.customer_import_process(import_id=job.id)
    return CustomerImport.objects.get(id=job.id)


def measured(call):
    """(result, peak bytes allocated, seconds) of `call()`."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1], time.monotonic() - started
    finally:
        tracemalloc.stop()


class InflatedBytes:
    """Counts the bytes the XLSX reader inflates (to show where it stopped)."""

    def __init__(self, monkeypatch):
        self.total = 0
        read = xlsx._CountedMember.read

        def counted(member, size=-1):
            data = read(member, size)
            self.total += len(data)
            return data

        monkeypatch.setattr(xlsx._CountedMember, "read", counted)


def workbook(sheet_rows: str, strings: list[str] = (), extra: dict | None = None) -> bytes:
    """A workbook whose sheetData holds `sheet_rows` (XML) and whose shared strings are `strings`."""
    parts = {
        **WORKBOOK_PARTS,
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_rows}</sheetData></worksheet>'
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">'
        + "".join(f"<si><t>{text}</t></si>" for text in strings)
        + "</sst>",
        **(extra or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def failure(job: CustomerImport) -> tuple[str, str]:
    assert job.status == CustomerImport.Status.FAILED, (job.status, job.error_code)
    assert job.processed_rows == 0 and not Customer.objects.exists()
    return job.error_code, job.error_message


# --- Item 2: hostile files ------------------------------------------------------------------------


@pytest.mark.parametrize("entries", [1_500_000, 5_000_000])
def test_a_shared_strings_bomb_is_refused_by_its_compression_ratio_before_anything_is_inflated(
    organization, monkeypatch, entries
):
    inflated = InflatedBytes(monkeypatch)
    bomb = shared_strings_bomb(entries)
    job, peak, seconds = measured(lambda: processed(organization, bomb, "b.xlsx"))

    code, message = failure(job)
    assert code == "FileTooLarge" and "compressed" in message and "100:1" in message, message
    assert inflated.total == 0
    # The old path: 12.8 s and 211 MB for 1.5 M entries; 5 M hit gunicorn's 30 s timeout.
    assert peak < 5 * MB, peak
    assert seconds < 5, seconds


def test_past_a_lifted_ratio_the_shared_string_cap_stops_the_read(organization, monkeypatch):
    monkeypatch.setattr(limits, "IMPORT_MAX_XLSX_COMPRESSION_RATIO", 100_000)
    monkeypatch.setattr(limits, "IMPORT_MAX_XLSX_SHARED_STRINGS", 100_000)
    inflated = InflatedBytes(monkeypatch)
    bomb = shared_strings_bomb(5_000_000)  # 65 MB inflated

    job, peak, seconds = measured(lambda: processed(organization, bomb, "b.xlsx"))

    code, message = failure(job)
    assert (code, message) == ("FileTooLarge", "The workbook holds more than 100000 shared strings.")
    # Stopped after the cap: 100,001 strings of 13 bytes (plus a read-ahead chunk or two), not 65 MB.
    assert inflated.total < 100_001 * 13 + 300 * 1024, inflated.total
    assert peak < 20 * MB, peak
    assert seconds < 20, seconds


def test_a_member_inflating_past_its_declared_size_is_stopped_at_that_size(organization, monkeypatch):
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(2, 200_000))
    book = bytearray(workbook(f'<row r="1"><c r="A1" t="s"><v>0</v></c></row>{rows}', ["externalId"]))
    # The central directory now says the sheet inflates to 1,000 bytes; it holds 7 MB.
    entry = book.index(b"PK\x01\x02")
    while not book[entry + 46 :].startswith(b"xl/worksheets/sheet1.xml"):
        entry = book.index(b"PK\x01\x02", entry + 4)
    book[entry + 24 : entry + 28] = (1000).to_bytes(4, "little")
    inflated = InflatedBytes(monkeypatch)

    code, _ = failure(processed(organization, bytes(book), "c.xlsx"))

    assert code == "WrongFormat"  # zipfile stops at the declared size, where the CRC no longer matches
    assert inflated.total < 10_000, inflated.total


def test_fifty_megabytes_of_newlines_as_json_lines_fail_in_milliseconds_and_flat_memory(organization):
    newlines = b"\n" * (50 * MB)
    job, peak, seconds = measured(lambda: processed(organization, newlines, "people.jsonl"))

    code, message = failure(job)
    assert code == "WrongFormat" and "no JSON object" in message
    # The old header check: 1.9 s and +450 MB in the web request.
    assert peak < 4 * MB, peak
    assert seconds < 5, seconds


def test_blank_runs_keep_json_lines_numbered_as_the_file(organization):
    content = b"\n" * (200 * 1024) + b'{"externalId": "c1"}\n' + b"\n" * 70_000 + b'{"bad": \n'
    job = processed(organization, content, "people.jsonl")
    assert job.status == "completed" and job.created_count == 1
    assert list(job.errors.values_list("row", flat=True)) == [200 * 1024 + 70_000 + 2]


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (
            ("externalId," + ",".join(f"c{n}" for n in range(100)) + "\nx\n").encode(),
            "c.csv",
            "TooManyColumns",
        ),
        (b"externalId,name\nc1," + b"n" * 32_768 + b"\n", "c.csv", "CellTooLong"),
        (b'externalId,name\nc1,"' + b"a\n" * 20_000 + b'"\n', "c.csv", "CellTooLong"),
        (b"externalId,name\n" + b"," * (101 * 32_770) + b"\n", "c.csv", "RowTooLong"),
        (b'{"externalId": "c1", "name": "' + b"n" * (101 * 32_770) + b'"}\n', "c.jsonl", "RowTooLong"),
    ],
)
def test_text_files_past_the_column_cell_or_row_caps_fail_their_job(organization, content, name, code):
    assert failure(processed(organization, content, name))[0] == code


def test_a_workbook_past_the_column_or_cell_caps_fails_its_job(organization):
    far = workbook(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="CW1" t="inlineStr"><is><t>x</t></is></c></row>',
        ["externalId"],
    )
    assert failure(processed(organization, far, "c.xlsx"))[0] == "TooManyColumns"

    long_string = workbook('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', ["externalId", "n" * 32_768])
    assert failure(processed(organization, long_string, "c.xlsx"))[0] == "CellTooLong"

    runs = "".join("<r><t>" + "n" * 1000 + "</t></r>" for _ in range(40))
    inline = workbook(
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        f'<row r="2"><c r="A2" t="inlineStr"><is>{runs}</is></c></row>',
        ["externalId"],
    )
    assert failure(processed(organization, inline, "c.xlsx"))[0] == "CellTooLong"


def test_a_workbook_is_read_by_its_cell_references_and_styled_empty_cells_cost_nothing(organization):
    book = workbook(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="XFD1" s="1"/></row>'
        '<row r="7"><c r="A7" t="s"><v>2</v></c><c r="B7" t="inlineStr"><is><r><t>Jo</t></r><r><t>sé</t></r>'
        "<rPh><t>ホセ</t></rPh></is></c></row>"
        '<row r="1048576"><c r="A1048576"><v>12345</v></c>'
        '<c r="B1048576" t="str"><v>Numeric id</v></c></row>',
        ["externalId", "name", "x7"],
    )
    job = processed(organization, book, "c.xlsx")
    assert (job.status, job.created_count, job.failed_count) == ("completed", 2, 0)
    assert dict(Customer.objects.values_list("external_id", "name")) == {"x7": "José", "12345": "Numeric id"}


@pytest.mark.parametrize(
    "part",
    [
        '<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">]><sst xmlns="{MAIN}"><si><t>&a;</t></si></sst>',
        '<sst xmlns="{MAIN}"><si><t>externalId</t></si>',
    ],
)
def test_a_workbook_with_a_dtd_or_broken_xml_is_not_readable(organization, part):
    book = workbook(
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
        extra={"xl/sharedStrings.xml": part.replace("{MAIN}", MAIN)},
    )
    assert failure(processed(organization, book, "c.xlsx")) == (
        "WrongFormat",
        "The file is not a readable XLSX workbook (xlsx was expected).",
    )


def test_a_zip_of_too_many_members_is_refused_before_zipfile_reads_its_directory(organization, monkeypatch):
    monkeypatch.setattr(xlsx, "XLSX_MAX_MEMBERS", 20)
    extra = {f"xl/media/image{n}.png": "x" for n in range(21)}
    book = workbook('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', ["externalId"], extra=extra)
    code, message = failure(processed(organization, book, "c.xlsx"))
    assert code == "FileTooLarge" and "more than 20 parts" in message


# --- Item 11: URL imports fail with one answer, the look-up under the deadline ----------------------


class Missing(QuietHandler):
    def do_GET(self):
        self.reply(404, b"nope")


def url_job(client, url: str) -> dict:
    accepted = client.post("/api/v1/customers/imports", {"url": url, "format": "csv"}, format="json")
    assert accepted.status_code == 202, accepted.content
    imports.customer_import_process(import_id=accepted.json()["id"])
    return client.get(f"/api/v1/customers/imports/{accepted.json()['id']}").json()


def one_answer() -> dict:
    return {
        "code": "FetchFailed",
        "message": imports.FETCH_FAILED.format(seconds=limits.IMPORT_FETCH_TIMEOUT_SECONDS),
    }


@pytest.mark.parametrize("url", ["https://vm/a.csv", "https://nonexistent-host-zz/a.csv"])
def test_a_url_resolving_privately_or_nowhere_fails_its_job_with_the_one_answer(customer_client, url):
    assert url_job(customer_client, url)["error"] == one_answer()


def test_a_refused_a_missing_and_a_slow_url_fail_with_the_same_answer(customer_client, settings, monkeypatch):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # development switch: the servers are on loopback
    monkeypatch.setattr(limits, "IMPORT_FETCH_TIMEOUT_SECONDS", 1)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{closed.getsockname()[1]}/a.csv"
    slow = SlowServer("headers", trickle_bytes=30)
    try:
        with LocalServer(Missing) as missing:
            answers = [
                url_job(customer_client, url)["error"]
                for url in (refused, missing.url("/a.csv"), slow.url("/a.csv"))
            ]
    finally:
        slow.close()
    assert answers == [one_answer()] * 3


def test_a_name_server_that_never_answers_costs_the_fetch_deadline_and_no_more(customer_client, monkeypatch):
    monkeypatch.setattr(limits, "IMPORT_FETCH_TIMEOUT_SECONDS", 1)
    lookup = socket.getaddrinfo

    def hanging(host, *args, **kwargs):
        if host == "hanging-dns.example":
            time.sleep(4)
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    started = time.monotonic()
    answer = url_job(customer_client, "https://hanging-dns.example/a.csv")["error"]
    assert time.monotonic() - started < 2.5
    assert answer == one_answer()


def test_creating_a_url_import_looks_nothing_up(customer_client, monkeypatch):
    def no_lookup(*args, **kwargs):
        raise AssertionError("the web request looked a host name up")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    accepted = customer_client.post("/api/v1/customers/imports", {"url": "https://vm/a.csv"}, format="json")
    assert accepted.status_code == 202 and accepted.json()["status"] == "queued"
    assert json.loads(accepted.content)["error"] is None
