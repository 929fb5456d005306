"""Exports: the organization's customers (or another resource's objects: customers.bulk.resources) written
to a file in private storage, on the bulk queue.

A customer's row carries its latest photo key (never the photo); spreadsheet formats are written with
formulas neutralized (api.spreadsheet_cells). The file is erased after CUSTOMER_EXPORT_RETENTION_HOURS.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from api.errors import ResourceNotFound
from customers import services
from customers.bulk import formats, queue, resources
from customers.bulk import settings as limits
from customers.models import CustomerExport, CustomerImport, PendingErasure
from infrastructure.storage import storage_save
from organizations.partner_ids import partner_storage_key

Status = CustomerExport.Status
PROGRESS_EVERY_ROWS = 2000
# Filters partners may give, mapped to the lookups they mean.
FILTERS = {
    "createdAfter": "created_at__gt",
    "createdBefore": "created_at__lt",
    "updatedAfter": "updated_at__gt",
}


def customer_export_create(
    *, organization_id: str, fmt: str, filters: dict, resource: str = resources.CUSTOMERS
) -> CustomerExport:
    """Record an export job (filters as ISO-8601 strings) and queue it on commit."""
    with transaction.atomic():
        job = CustomerExport.objects.create(
            organization_id=organization_id, format=fmt, filters=filters, resource=resource
        )
        transaction.on_commit(lambda: queue.bulk_job_enqueue(queue.EXPORT_TASK, job.id))
    return job


def customer_export_get(
    *, organization_id: str, export_id: str, resource: str = resources.CUSTOMERS
) -> CustomerExport:
    job = CustomerExport.objects.filter(
        organization_id=organization_id, id=export_id, resource=resource
    ).first()
    if job is None:
        raise ResourceNotFound(f"Export {export_id} not found.", details={"exportId": export_id})
    return job


def customer_export_process(*, export_id: str) -> None:
    """Write the export file and complete the job; a second run of the same job (redelivery, sweeper)
    writes the same file and the conditional completion lets only one of them finish it."""
    job = CustomerExport.objects.filter(id=export_id).first()
    if job is None or job.status in (Status.COMPLETED, Status.FAILED):
        return
    now = timezone.now()
    CustomerExport.objects.filter(id=job.id, status=Status.QUEUED).update(
        status=Status.PROCESSING, started_at=now, heartbeat_at=now
    )
    resource = resources.bulk_resource(job.resource)
    lookups = {FILTERS[name]: parse_datetime(value) for name, value in job.filters.items() if name in FILTERS}
    total, rows = resource.export_rows(job.organization_id, lookups)
    CustomerExport.objects.filter(id=job.id).update(total_rows=total, processed_rows=0)

    def progressed():
        for count, row in enumerate(rows, start=1):
            yield row
            if count % PROGRESS_EVERY_ROWS == 0:
                CustomerExport.objects.filter(id=job.id).update(
                    processed_rows=count, heartbeat_at=timezone.now()
                )

    content = formats.file_write(
        job.format, progressed(), columns=resource.export_columns, sheet=resource.name
    )
    key = partner_storage_key(
        organization_id=job.organization_id, kind="exports", object_id=job.id, extension=job.format
    )
    storage_save(key, content)
    finished = timezone.now()
    CustomerExport.objects.filter(id=job.id, status=Status.PROCESSING).update(
        status=Status.COMPLETED,
        storage_key=key,
        processed_rows=F("total_rows"),
        finished_at=finished,
        expires_at=finished + timedelta(hours=limits.EXPORT_RETENTION_HOURS),
    )


def customer_exports_expire() -> int:
    """Erase export files past their retention (beat); returns how many were scheduled for erasure.

    The job row stays (its status and counts are history); its storage key is cleared in the same
    transaction that records the erasure, so the file is never erased twice nor forgotten.
    """
    expired = 0
    for job in CustomerExport.objects.filter(expires_at__lte=timezone.now()).exclude(storage_key="")[:200]:
        with transaction.atomic():
            if not CustomerExport.objects.filter(id=job.id, storage_key=job.storage_key).update(
                storage_key=""
            ):
                continue  # another sweeper run took it
            erasure = PendingErasure.objects.create(
                storage_key=job.storage_key,
                organization_id=job.organization_id,
                reason=f"export {job.id} expired",
                next_attempt_at=timezone.now() + services.ERASURE_GRACE,
            )
        services.pending_erasures_attempt(erasure_ids=[erasure.id])
        expired += 1
    return expired


# A job whose worker died is picked up again after this long without a heartbeat; one whose message was
# lost (broker down at commit) after this long queued.
STALE_PROCESSING = timedelta(minutes=5)
STALE_QUEUED = timedelta(minutes=10)


def bulk_jobs_requeue_stale() -> int:
    """Queue again every import or export whose worker died or whose message was lost (beat).

    A duplicate run is harmless: imports apply each batch once (customers.bulk.imports) and an export's
    completion is conditional. Returns how many jobs were queued.
    """
    now = timezone.now()
    requeued = 0
    for model, task_name in ((CustomerImport, queue.IMPORT_TASK), (CustomerExport, queue.EXPORT_TASK)):
        stale = model.objects.annotate(seen=Coalesce("heartbeat_at", "created_at")).filter(
            Q(status=model.Status.PROCESSING, seen__lt=now - STALE_PROCESSING)
            | Q(status=model.Status.QUEUED, seen__lt=now - STALE_QUEUED)
        )
        for job_id in stale.values_list("id", flat=True)[:100]:
            # Stamp first, so the next beat does not queue it again while this message waits.
            model.objects.filter(id=job_id).update(heartbeat_at=now)
            queue.bulk_job_enqueue(task_name, job_id)
            requeued += 1
    return requeued
