"""Import and export jobs as partners see them: the API's responses and the `customers.imported` webhook
carry the same object, built here once."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from customers.models import BulkJobStatus, CustomerExport, CustomerImport
from infrastructure.storage import storage_signed_url


def _timestamp(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _progress(job) -> int:
    """Percent of rows done: 100 only once completed, so a poller may stop at 100."""
    if job.status == BulkJobStatus.COMPLETED:
        return 100
    if not job.total_rows:
        return 0
    return min(99, job.processed_rows * 100 // job.total_rows)


def _error(job) -> dict | None:
    return {"code": job.error_code, "message": job.error_message} if job.error_code else None


def import_representation(job: CustomerImport) -> dict:
    source_url = None
    if job.source_url:
        parts = urlsplit(job.source_url)  # the query may carry a token: never echoed back
        source_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return {
        "id": job.id,
        "status": job.status,
        "format": job.format,
        "fileName": job.file_name or None,
        "sourceUrl": source_url,
        "progress": _progress(job),
        "counts": {
            "total": job.total_rows,
            "processed": job.processed_rows,
            "created": job.created_count,
            "updated": job.updated_count,
            "unchanged": job.unchanged_count,
            "failed": job.failed_count,
        },
        "ignoredColumns": job.ignored_columns,
        "error": _error(job),
        "createdAt": _timestamp(job.created_at),
        "startedAt": _timestamp(job.started_at),
        "completedAt": _timestamp(job.finished_at),
    }


def export_representation(job: CustomerExport, *, now: datetime) -> dict:
    available = job.status == CustomerExport.Status.COMPLETED and bool(job.storage_key)
    if available and job.expires_at and job.expires_at <= now:
        available = False  # the sweeper erases it shortly; the link would lead nowhere
    file_url = url_expires = None
    if available:
        ttl = settings.SIGNED_URL_TTL_SECONDS
        if job.expires_at:  # never sign past the file's own erasure
            ttl = max(1, min(ttl, int((job.expires_at - now).total_seconds())))
        file_url, url_expires = storage_signed_url(job.storage_key, ttl=ttl), now + timedelta(seconds=ttl)
    return {
        "id": job.id,
        "status": job.status,
        "format": job.format,
        "filters": job.filters,
        "progress": _progress(job),
        "counts": {"total": job.total_rows, "processed": job.processed_rows},
        "fileUrl": file_url,
        "fileUrlExpiresAt": _timestamp(url_expires),
        "fileExpiresAt": _timestamp(job.expires_at),
        "error": _error(job),
        "createdAt": _timestamp(job.created_at),
        "startedAt": _timestamp(job.started_at),
        "completedAt": _timestamp(job.finished_at),
    }
