"""The request log's daily partitions on PostgreSQL: made by the flush and ahead by beat, dropped for
retention, and skipped by queries bounded in time."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from usage import tasks
from usage.models import RequestLogEntry, UsageRollup
from usage.partitions import partition_name, partitions_list
from usage.selectors import request_log_list
from usage.services import request_log_maintain

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_request_log_is_natively_partitioned_by_day():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = 'usage_requestlogentry'"
        )
        assert cursor.fetchone() == ("r",)  # range, on created_at


def test_the_flush_makes_the_days_it_needs(organization, api_key_for, store):
    key, _ = api_key_for(organization)
    five_days_ago = timezone.now() - timedelta(days=5)
    store(key, at=five_days_ago)
    assert (partition_name(five_days_ago.date()), five_days_ago.date()) in partitions_list()
    assert RequestLogEntry.objects.get().created_at == five_days_ago


def test_beat_makes_days_ahead_and_drops_days_past_retention(organization, api_key_for, store, settings):
    settings.API_USAGE_RETENTION_DAYS = 30
    key, _ = api_key_for(organization)
    now = timezone.now()
    for age in (2, 29):
        store(key, at=now - timedelta(days=age))
    tasks.prune_usage()
    days = {day for _, day in partitions_list()}
    assert {now.date() + timedelta(days=n) for n in range(4)} <= days  # today and three days ahead

    result = request_log_maintain(now=now + timedelta(days=3))  # the 29-day-old day is now 32 days old
    assert partition_name((now - timedelta(days=29)).date()) in result["partitionsDropped"]
    assert [(now - e.created_at).days for e in RequestLogEntry.objects.all()] == [2]
    # Rollups outlive the raw log (USAGE_ROLLUP_RETENTION_DAYS, default 400 days).
    assert UsageRollup.objects.filter(period="day").aggregate(total=Sum("requests"))["total"] == 2


def test_a_query_bounded_in_time_reads_only_its_days(organization, api_key_for, store):
    key, _ = api_key_for(organization)
    now = timezone.now()
    for age in range(0, 10):
        store(key, at=now - timedelta(days=age))
    entries = request_log_list(
        organization_id=organization.id, start=now - timedelta(days=2, hours=1), end=now - timedelta(days=1)
    )
    sql, params = entries.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = json.dumps(cursor.fetchone()[0])
    read = {day for name, day in partitions_list() if name in plan}
    # The range spans parts of two or three UTC days, depending on the time of day; the other seven are
    # pruned at planning time.
    assert {(now - timedelta(days=2)).date()} <= read <= {(now - timedelta(days=n)).date() for n in (1, 2, 3)}


def test_rollups_always_agree_with_the_log(organization, partner_client, flush):
    client = partner_client(organization, rate_limit=1000)
    for n in range(30):
        client.get(f"/api/v1/customers/c{n}" if n % 3 else "/api/v1/customers")
    flush()
    assert RequestLogEntry.objects.count() == 30
    for period in ("hour", "day"):
        rollups = UsageRollup.objects.filter(period=period)
        assert rollups.aggregate(total=Sum("requests"))["total"] == 30
        by_route = dict(rollups.values_list("route").annotate(n=Sum("requests")))
        assert by_route == {"/api/v1/customers": 10, "/api/v1/customers/{externalId}": 20}
