"""Upgrading carries the per-key usage records of the previous release into the request log and rollups."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum
from django.utils import timezone

from usage.models import RequestLogEntry, UsageRollup

BEFORE = [("apikeys", "0004_list_indexes"), ("usage", None)]


@pytest.mark.django_db(transaction=True)
def test_usage_records_are_carried_into_the_request_log(organization, api_key_for):
    key, _ = api_key_for(organization)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state([BEFORE[0]]).apps.get_model("apikeys", "ApiUsageRecord")
    two_days_ago = timezone.now() - timedelta(days=2)
    for status_code, duration in ((200, 10), (404, 30), (200, 20)):
        old.objects.create(
            api_key_id=key.id,
            method="GET",
            route="/api/v1/customers",
            status_code=status_code,
            duration_ms=duration,
            created_at=two_days_ago,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    entries = list(RequestLogEntry.objects.order_by("status_code", "duration_ms"))
    assert [(e.organization_id, e.api_key_id, e.status_code, e.duration_ms) for e in entries] == [
        (organization.id, key.id, 200, 10),
        (organization.id, key.id, 200, 20),
        (organization.id, key.id, 404, 30),
    ]
    for period in ("hour", "day"):
        rollups = UsageRollup.objects.filter(period=period)
        assert rollups.aggregate(n=Sum("requests"), ms=Sum("duration_ms_total")) == {"n": 3, "ms": 60}
    assert "apikeys_apiusagerecord" not in connection.introspection.table_names()  # the old table is gone
