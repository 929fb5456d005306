"""Imports (of customers, or another resource's rows: customers.bulk.resources): accept a file (upload or
URL), then upsert its rows in batches on the bulk queue.

The web request only stores an upload (streamed to storage) or records a URL, and answers: nothing there
parses a file or looks a host up, so no file and no DNS answer can hold a web worker. The worker fetches
(through the outbound guard, under a deadline) and reads the file under caps (customers.bulk.formats).
Each row goes through the same validation and service as the resource's own upsert (customers: as `POST
/v1/customers`). A bad row becomes that row's error and never stops the others; a bad file (format,
encoding, header, size, caps) fails the job before any row is applied.
"""

import io
import logging
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from api.errors import PayloadTooLarge, ResourceNotFound, ValidationError
from api.events import event_emit
from api.ids import new_id
from api.parsers import json_loads
from customers import services
from customers.bulk import formats, queue, resources
from customers.bulk import settings as limits
from customers.models import CustomerImport, CustomerImportError, PendingErasure
from infrastructure.outbound import OutboundBlocked, OutboundFailed, OutboundRejected, check_url, fetch_bytes
from infrastructure.storage import storage_key, storage_open, storage_save

logger = logging.getLogger("garmax.customers")

Status = CustomerImport.Status
# One answer for every URL the worker could not fetch: which of "does not resolve", "resolves to a private
# address", "refused", "timed out" it was would tell an outsider about our network.
FETCH_FAILED = (
    "Could not fetch the file from that URL: it must be a public https URL that answers 200 with the file "
    "within {seconds} s."
)


def _format_required(fmt: str | None, file_name: str) -> str:
    detected = formats.format_detect(declared=fmt, file_name=file_name)
    if detected is None:
        raise ValidationError(
            "Cannot tell the file's format.",
            details={
                "format": [
                    "Give format (csv, jsonl or xlsx), or a file name ending in .csv, .jsonl or .xlsx."
                ]
            },
        )
    return detected


def _file_refused(exc: formats.ImportFileInvalid) -> ValidationError:
    return ValidationError(exc.message, details={"file": [exc.message], "fileError": [exc.code]})


def customer_import_create(
    *,
    organization_id: str,
    upload=None,
    url: str | None = None,
    fmt: str | None = None,
    resource: str = resources.CUSTOMERS,
) -> CustomerImport:
    """Accept an import job: an uploaded file is stored as it is (after O(1) checks: format named, size,
    first bytes); a URL is checked for its form only (https, no credentials, not a private address written
    out) and fetched by the worker. The job is queued on commit; everything else is the job's result.

    Raises ValidationError (nothing stored) or PayloadTooLarge. Stored file and job row go together: if
    the row cannot be written the file is recorded for erasure.
    """
    import_id = new_id("imp")
    if upload is not None:
        file_name = (upload.name or "")[:255]
        fmt = _format_required(fmt, file_name)
        if upload.size > limits.IMPORT_MAX_BYTES:
            raise _too_large()
        upload.seek(0)
        head = upload.read(len(formats.ZIP_SIGNATURE))
        upload.seek(0)
        try:
            formats.signature_check(head, fmt)
        except formats.ImportFileInvalid as exc:
            raise _file_refused(exc) from None
        key = storage_key(organization_id=organization_id, kind="imports", object_id=import_id, extension=fmt)
        storage_save(key, upload)
        job = CustomerImport(id=import_id, file_name=file_name, storage_key=key)
    else:
        try:
            check_url(url, resolve=False)  # no look-up here: the worker resolves, under its deadline
        except OutboundBlocked as exc:
            raise ValidationError(str(exc), details={"url": [str(exc)]}) from None
        fmt = _format_required(fmt, urlsplit(url).path)
        job = CustomerImport(
            id=import_id, source_url=url, file_name=urlsplit(url).path.rsplit("/", 1)[-1][:255]
        )
    job.organization_id, job.format, job.resource = organization_id, fmt, resource
    try:
        with transaction.atomic():
            job.save(force_insert=True)
            transaction.on_commit(lambda: queue.bulk_job_enqueue(queue.IMPORT_TASK, import_id))
    except BaseException:
        if job.storage_key:
            _erase_later(job, reason=f"import {import_id} could not be created")
        raise
    return job


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Import files must be at most {limits.IMPORT_MAX_BYTES} bytes.",
        details={"maxBytes": limits.IMPORT_MAX_BYTES},
    )


def _erase_later(job: CustomerImport, *, reason: str) -> None:
    erasure = PendingErasure.objects.create(
        storage_key=job.storage_key,
        organization_id=job.organization_id,
        reason=reason,
        next_attempt_at=timezone.now() + services.ERASURE_GRACE,
    )
    transaction.on_commit(lambda: services.pending_erasures_attempt(erasure_ids=[erasure.id]), robust=True)


def customer_import_process(*, import_id: str) -> None:
    """Run (or resume) the import: read the whole file, then apply its rows batch by batch.

    Safe to run twice at once or again after a crash: each batch locks the job row and applies only if
    `processed_rows` is still where this run expects it, committing customers, row errors and counters
    together. So every row is applied exactly once, and a run that finds another ahead of it stops.
    """
    job = CustomerImport.objects.filter(id=import_id).first()
    if job is None or job.status in (Status.COMPLETED, Status.FAILED):
        return
    now = timezone.now()
    CustomerImport.objects.filter(id=job.id, status=Status.QUEUED).update(
        status=Status.PROCESSING, started_at=now, heartbeat_at=now
    )
    try:
        parsed = _rows(job)
    except formats.ImportFileInvalid as exc:
        _finish(job.id, Status.FAILED, exc.code, exc.message)
        return
    except (OutboundBlocked, OutboundFailed) as exc:
        # The reason stays with us (no URL: it may carry a token); the partner gets the one answer.
        logger.info("Import %s: the URL could not be fetched (%s: %s)", job.id, type(exc).__name__, exc)
        message = FETCH_FAILED.format(seconds=limits.IMPORT_FETCH_TIMEOUT_SECONDS)
        _finish(job.id, Status.FAILED, "FetchFailed", message)
        return
    CustomerImport.objects.filter(id=job.id).update(
        total_rows=len(parsed.rows), ignored_columns=parsed.ignored_columns, heartbeat_at=timezone.now()
    )
    offset = job.processed_rows
    while offset < len(parsed.rows):
        batch = parsed.rows[offset : offset + limits.IMPORT_BATCH_ROWS]
        if not _apply(job, offset, batch, tabular=parsed.tabular):
            return  # another run of this job is ahead of us; it finishes the job
        offset += len(batch)
    _finish(job.id, Status.COMPLETED)


def read_caps(resource: str = resources.CUSTOMERS) -> formats.ReadCaps:
    """The caps of customers.bulk.settings, read when a job runs (tests change them), for the resource's
    columns."""
    columns = resources.bulk_resource(resource)
    return formats.ReadCaps(
        max_rows=limits.IMPORT_MAX_ROWS,
        max_columns=limits.IMPORT_MAX_COLUMNS,
        max_cell_chars=limits.IMPORT_MAX_CELL_CHARS,
        max_inflated_bytes=limits.IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES,
        max_shared_strings=limits.IMPORT_MAX_XLSX_SHARED_STRINGS,
        max_compression_ratio=limits.IMPORT_MAX_XLSX_COMPRESSION_RATIO,
        fields=columns.fields,
        key=columns.key,
    )


def _rows(job: CustomerImport) -> formats.ParsedFile:
    """The job's file read under the caps: the stored upload, or the URL fetched (once: it is kept, so a
    resumed run reads the very same file) through the outbound guard within the fetch deadline."""
    if not job.storage_key:
        try:
            content, _ = fetch_bytes(
                job.source_url, max_bytes=limits.IMPORT_MAX_BYTES, timeout=limits.IMPORT_FETCH_TIMEOUT_SECONDS
            )
        except OutboundRejected as exc:
            if "larger than" in str(exc):
                raise formats.ImportFileInvalid("FileTooLarge", _too_large().message) from None
            raise
        key = storage_key(
            organization_id=job.organization_id, kind="imports", object_id=job.id, extension=job.format
        )
        storage_save(key, content)
        CustomerImport.objects.filter(id=job.id, storage_key="").update(storage_key=key)
        job.storage_key = key
        return formats.rows_read(io.BytesIO(content), job.format, read_caps(job.resource))
    with storage_open(job.storage_key) as source:
        return formats.rows_read(source, job.format, read_caps(job.resource))


def _row_validate(values: dict, *, tabular: bool, resource: str) -> tuple[object | None, dict[str, str]]:
    data, problems = dict(values), {}
    if tabular and "metadata" in data:
        try:
            data["metadata"] = json_loads(data["metadata"])  # bounded depth: hostile cells are row errors
        except ValueError as exc:
            problems["metadata"] = f"Must be a JSON object: {exc}"
            del data["metadata"]
    change, found = resources.bulk_resource(resource).row_validate(data)
    problems = {**found, **problems}
    return (None, problems) if problems else (change, {})


def _apply(job: CustomerImport, offset: int, batch: list[tuple[int, dict | str]], *, tabular: bool) -> bool:
    changes, errors = [], []
    for row, values in batch:
        if isinstance(values, str):
            errors.append(CustomerImportError(customer_import_id=job.id, row=row, message=values[:500]))
            continue
        change, problems = _row_validate(values, tabular=tabular, resource=job.resource)
        if change is None:
            errors += [
                CustomerImportError(
                    customer_import_id=job.id, row=row, field=name[:50], message=message[:500]
                )
                for name, message in problems.items()
            ]
        else:
            changes.append(change)
    failed_rows = len(batch) - len(changes)
    with transaction.atomic():
        # The lock and the offset check make a batch apply once, whatever other run of the job exists.
        current = (
            CustomerImport.objects.select_for_update()
            .filter(id=job.id, status=Status.PROCESSING, processed_rows=offset)
            .exists()
        )
        if not current:
            return False
        outcomes = resources.bulk_resource(job.resource).upsert(job.organization_id, changes)
        CustomerImportError.objects.bulk_create(errors)
        CustomerImport.objects.filter(id=job.id).update(
            processed_rows=F("processed_rows") + len(batch),
            created_count=F("created_count") + outcomes.count("created"),
            updated_count=F("updated_count") + outcomes.count("updated"),
            unchanged_count=F("unchanged_count") + outcomes.count("unchanged"),
            failed_count=F("failed_count") + failed_rows,
            heartbeat_at=timezone.now(),
        )
    return True


def _finish(import_id: str, status: str, code: str = "", message: str = "") -> None:
    """End the job once (a conditional lock), record `customers.imported` with it, erase the file."""
    with transaction.atomic():
        job = (
            CustomerImport.objects.select_for_update()
            .filter(id=import_id, status__in=[Status.QUEUED, Status.PROCESSING])
            .first()
        )
        if job is None:
            return  # another run finished it
        job.status, job.error_code, job.error_message = status, code, message[:500]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error_code", "error_message", "finished_at"])
        resource = resources.bulk_resource(job.resource)  # its declared event: customers or garments.imported
        event_emit(resource.imported_event, organization_id=job.organization_id, customer_import=job)
        if job.storage_key:  # the partner's file holds personal data: it goes once the job is done
            _erase_later(job, reason=f"import {job.id} finished")


def import_errors(*, organization_id: str, import_id: str, resource: str = resources.CUSTOMERS):
    """The job's row errors, in row order (404 for another organization's job, or another resource's)."""
    job = customer_import_get(organization_id=organization_id, import_id=import_id, resource=resource)
    return job.errors.order_by("row", "id")


def customer_import_get(
    *, organization_id: str, import_id: str, resource: str = resources.CUSTOMERS
) -> CustomerImport:
    job = CustomerImport.objects.filter(
        organization_id=organization_id, id=import_id, resource=resource
    ).first()
    if job is None:
        raise ResourceNotFound(f"Import {import_id} not found.", details={"importId": import_id})
    return job
