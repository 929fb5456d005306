"""The request log (one row per partner API request) and its hourly rollups.

On PostgreSQL the request log is partitioned by day (usage/partitions.py): retention drops whole days, and
a day's indexes stay small enough to live in memory. Neither table has foreign key constraints: rows are
kept by time, not by the life of a key, and a constraint check per row would cost the flush at volume.
"""

from django.db import models

from api.request_context import REQUEST_ID_MAX_LENGTH
from organizations.models import Organization


class RequestLogEntry(models.Model):
    """One partner request: who (key), what (method, route template), how it ended, when, from where."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    # The key's id, not a foreign key: rows are kept by time, not by the life of a key (module docstring).
    api_key_id = models.CharField(max_length=40)
    # The X-Request-Id the partner got, also in every error body: how a partner finds the entry. As long as
    # the longest one api/middleware.py takes from a partner, so it is kept as sent. Not unique: a retry
    # repeats it, so nothing pages on it (the list's cursor is the entry's own place, usage/selectors.py).
    request_id = models.CharField(max_length=REQUEST_ID_MAX_LENGTH)
    method = models.CharField(max_length=10)
    # The URL pattern, e.g. /api/v1/customers/{externalId}: groups requests without leaking ids.
    route = models.CharField(max_length=200)
    status_code = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=64, blank=True, default="")
    duration_ms = models.PositiveIntegerField()
    client_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "request log entry"
        verbose_name_plural = "request log"
        # One per filter of the log list, each in its order (newest first); per partition on PostgreSQL.
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="request_log_org"),
            models.Index(fields=["organization", "api_key_id", "-created_at", "-id"], name="request_log_key"),
            models.Index(
                fields=["organization", "status_code", "-created_at", "-id"], name="request_log_status"
            ),
            models.Index(fields=["organization", "route", "-created_at", "-id"], name="request_log_route"),
            models.Index(fields=["organization", "request_id"], name="request_log_request_id"),
        ]

    def __str__(self):
        return f"{self.method} {self.route} → {self.status_code}"


class UsageRollup(models.Model):
    """Requests per hour and per day for each (key, method, route, status): what usage reads, never the log.

    A busy hour has a few hundred rows whatever the traffic, and a day as many again, so a 30-day daily
    series reads a few thousand small rows instead of tens of millions of log entries. Both periods are
    written by the same flush, in the transaction that inserts the log entries.
    """

    class Period(models.TextChoices):
        HOUR = "hour"
        DAY = "day"

    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    # The key's id, not a foreign key: rows are kept by time, not by the life of a key (module docstring).
    api_key_id = models.CharField(max_length=40)
    period = models.CharField(max_length=4, choices=Period.choices)
    start = models.DateTimeField()
    method = models.CharField(max_length=10)
    route = models.CharField(max_length=200)
    status_code = models.PositiveSmallIntegerField()
    requests = models.PositiveBigIntegerField(default=0)
    duration_ms_total = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-start"]
        constraints = [
            # The flush adds to a bucket with INSERT … ON CONFLICT on this; it also serves the reads
            # (organization, period, a range of starts).
            models.UniqueConstraint(
                fields=["organization", "period", "start", "api_key_id", "method", "route", "status_code"],
                name="usage_rollup_bucket",
            )
        ]

    def __str__(self):
        return f"{self.period} {self.start:%Y-%m-%d %H}h {self.method} {self.route} → {self.status_code}"


class CreditRollup(models.Model):
    """Credits charged and refunded in one closed hour or day of an organization, from its ledger.

    Written the first time usage asks for a period that has closed (ended more than CLOSED_AFTER ago, so no
    transaction still in flight can add to it) and never changed afterwards: the ledger is append-only and
    dated by the database clock. Open periods are summed from the ledger on each read (at most a day).
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    period = models.CharField(max_length=4, choices=UsageRollup.Period.choices)
    start = models.DateTimeField()
    charged = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    refunded = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "period", "start"], name="credit_rollup_period")
        ]

    def __str__(self):
        return f"{self.organization_id} {self.period} {self.start:%Y-%m-%d %H}h"
