"""Rows the portal's record pages read, written through the apps' own write paths."""

from datetime import timedelta

from django.utils import timezone

from organizations.services import organization_sandbox
from usage.recording import request_log_store


def store_requests(key, count=1, *, at=None, organization=None, **fields) -> list[str]:
    """`count` request log entries (and their rollups) of `key`, one second apart going back from `at`,
    stored as the usage flush stores them; returns their request ids, newest first."""
    at = at or timezone.now() - timedelta(minutes=1)
    acting = organization or key.organization
    if key.mode == "test":
        acting = organization_sandbox(organization=key.organization)
    ids = [fields.get("request_id") or f"req_{key.pk[-6:]}_{n:04d}" for n in range(count)]
    rows = [
        (
            key.pk,
            fields.get("method", "GET"),
            fields.get("route", "/api/v1/customers"),
            fields.get("status_code", 200),
            fields.get("duration_ms", 12),
            (at - timedelta(seconds=n)).timestamp(),
            ids[n],
            fields.get("error_code", ""),
            "203.0.113.7",
        )
        for n in range(count)
    ]
    assert request_log_store(rows=rows, organization_of={key.pk: acting.pk}) == count
    return ids
