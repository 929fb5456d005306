from django.db import models

from api.ids import PrefixedIdField
from organizations.models import Organization


class Customer(models.Model):
    """A partner's end user, identified by the partner's own `externalId`."""

    id = PrefixedIdField(prefix="cust")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="customers")
    external_id = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Matches the list's filter and order (organization, newest first): pages never sort or scan.
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="customer_org_list")]
        constraints = [
            # Upserts race on this: two concurrent POSTs of one externalId must not create two rows.
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="one_customer_per_external_id"
            )
        ]

    def __str__(self):
        return f"{self.external_id} ({self.organization_id})"


class Photo(models.Model):
    """A cleaned customer photo (decoded, EXIF stripped, re-encoded) in private storage."""

    id = PrefixedIdField(prefix="photo")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="photos")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="photos")
    # enterprise/org-{orgId}/photos/{photoId}.{ext} — partners pass it back as `customerPhotoS3Key`.
    storage_key = models.CharField(max_length=255, unique=True)
    content_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    metadata = models.JSONField(default=dict, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        # A customer's photo list and the latest-photo lookup on every customer row.
        indexes = [models.Index(fields=["customer", "-uploaded_at", "-id"], name="photo_customer_list")]

    def __str__(self):
        return self.storage_key


class PendingErasure(models.Model):
    """A stored object that must be deleted and has not been yet.

    Written in the same transaction that deletes the rows pointing at the object, so a storage outage or a
    crash between the commit and the delete call can delay an erasure but never lose it. Rows are removed
    only once storage confirms the delete; `customers.retry_pending_erasures` retries the rest.
    """

    # Plain strings, not foreign keys: the intent must outlive the customer and even the organization.
    storage_key = models.CharField(max_length=512)
    organization_id = models.CharField(max_length=40)
    reason = models.CharField(max_length=255)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["next_attempt_at", "id"]
        indexes = [models.Index(fields=["next_attempt_at"])]

    def __str__(self):
        return self.storage_key


BULK_FORMATS = [("csv", "CSV"), ("jsonl", "JSON Lines"), ("xlsx", "XLSX")]


class BulkJobStatus(models.TextChoices):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class CustomerImport(models.Model):
    """A file of customers upserted by externalId in the background (`imp_...`).

    Rows are applied in batches; each batch commits its customers, its row errors and the advanced counters
    together, so a worker that dies mid-file is resumed from `processed_rows` without applying a row twice.
    """

    Status = BulkJobStatus

    id = PrefixedIdField(prefix="imp")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="customer_imports")
    # What the file holds (customers.bulk.resources): customers, or garments of the catalogue.
    resource = models.CharField(max_length=20, default="customers")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    format = models.CharField(max_length=10, choices=BULK_FORMATS)
    file_name = models.CharField(max_length=255, blank=True)
    # The URL to fetch (worker side); partners see it without its query string, which may hold a token.
    source_url = models.URLField(max_length=2048, blank=True)
    # The file in private storage, once uploaded or fetched; deleted when the job ends.
    storage_key = models.CharField(max_length=512, blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    ignored_columns = models.JSONField(default=list, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Stamped as the job advances; the sweeper re-queues a processing job whose stamp is stale (dead worker).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "resource", "-created_at"], name="import_list")]

    def __str__(self):
        return self.id


class CustomerImportError(models.Model):
    """Why one row of an import was not applied (the other rows were)."""

    customer_import = models.ForeignKey(CustomerImport, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField()
    field = models.CharField(max_length=50, blank=True)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["customer_import", "row", "id"])]

    def __str__(self):
        return f"{self.customer_import_id} row {self.row}: {self.message}"


class CustomerExport(models.Model):
    """The organization's customers written to a file in private storage (`exp_...`)."""

    Status = BulkJobStatus

    id = PrefixedIdField(prefix="exp")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="customer_exports")
    resource = models.CharField(max_length=20, default="customers")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    format = models.CharField(max_length=10, choices=BULK_FORMATS)
    filters = models.JSONField(default=dict, blank=True)
    storage_key = models.CharField(max_length=512, blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Stamped as the job advances; the sweeper re-queues a processing job whose stamp is stale (dead worker).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The file is erased after this (CUSTOMER_EXPORT_RETENTION_HOURS): it holds every customer's data.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "resource", "-created_at"], name="export_list"),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self):
        return self.id
