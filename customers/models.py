from django.db import models

from config.ids import PrefixedIdField
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
        ordering = ["-created_at"]
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
        ordering = ["-uploaded_at"]
        indexes = [models.Index(fields=["customer", "-uploaded_at"])]

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
