from django.db import models
from django.db.models import Q

from api.ids import PrefixedIdField
from organizations.models import Organization


class Garment(models.Model):
    """A partner's garment, by its productId (+ variantId): its image fetched once into our storage."""

    class Status(models.TextChoices):
        PENDING = "pending"  # its image is being fetched
        READY = "ready"
        FAILED = "failed"

    id = PrefixedIdField(prefix="garment")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    product_id = models.CharField(max_length=255)
    variant_id = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=500, blank=True)
    image_url = models.URLField(max_length=2048)
    category = models.CharField(max_length=20)
    garment_photo_type = models.CharField(max_length=10, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Our copy of the image, its SHA-256 and size; when it was fetched, and last checked against the URL.
    image_key = models.CharField(max_length=255, blank=True)
    image_digest = models.CharField(max_length=64, blank=True)
    image_bytes = models.PositiveIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # The validators the shop's server sent with it: the revalidation is a conditional GET that answers 304.
    image_etag = models.CharField(max_length=200, blank=True)
    image_last_modified = models.CharField(max_length=200, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    revalidated_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change of the image URL or a refresh: a fetch started before it does not overwrite.
    fetch_generation = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "product_id", "variant_id"], name="one_garment_per_product_variant"
            ),
        ]
        indexes = [
            # The list in its order, and filtered by category or status: each page an index walk.
            models.Index(fields=["organization", "-created_at", "-id"], name="garment_list"),
            models.Index(
                fields=["organization", "category", "-created_at", "-id"], name="garment_category_list"
            ),
            models.Index(fields=["organization", "status", "-created_at", "-id"], name="garment_status_list"),
            # A cart item's imageUrl matched to a ready garment of its organization.
            models.Index(
                fields=["organization", "image_url"], condition=Q(status="ready"), name="garment_ready_by_url"
            ),
        ]

    def __str__(self):
        return f"{self.id} ({self.product_id}, {self.status})"
