import json

from django.db import models
from django.db.models import Q

from api.ids import PrefixedIdField
from organizations.models import Organization


class Webhook(models.Model):
    """A partner's endpoint and the events it wants."""

    id = PrefixedIdField(prefix="webhook")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2048)
    description = models.CharField(max_length=500, blank=True)
    events = models.JSONField(default=list)
    # `whsec_<base64>`: the hex signature is keyed by the whole string, Standard Webhooks by the bytes.
    secret = models.CharField(max_length=100)
    # After a rotation the old secret keeps signing alongside the new one until it expires.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # {"maxRetries": n, "schedule": [seconds, …]}, or null for the organization's (webhooks.retry_policy).
    retry_policy = models.JSONField(null=True, blank=True)
    # The partner's own JSON, returned as given (api.metadata's bounds).
    metadata = models.JSONField(default=dict, blank=True)
    # Sent with every delivery; values are write-only, like the secret (webhooks.custom_headers).
    headers = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    # Deliveries that exhausted their retries in a row; reset by any success.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "is_active"]),
            models.Index(fields=["organization", "-created_at", "-id"], name="webhook_org_list"),
        ]
        permissions = [("manage_webhook", "Can re-enable webhooks and send test events")]

    def __str__(self):
        return f"{self.url} ({self.id})"


class WebhookEvent(models.Model):
    """Something that happened, recorded in the same transaction as the state change (the outbox)."""

    id = PrefixedIdField(prefix="evt")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_events")
    event = models.CharField(max_length=40, db_index=True)
    # The exact body every attempt sends, fixed at recording time. Text, not JSON: PostgreSQL's jsonb
    # would reorder the keys, and retries must carry byte-identical bodies.
    body = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.event} ({self.id})"

    @property
    def data(self) -> dict:
        return json.loads(self.body)["data"]


class WebhookDelivery(models.Model):
    """One event on its way to one endpoint, with its retry schedule."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = PrefixedIdField(prefix="dlv")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    # When a pending delivery is next due. A worker sending it pushes this forward (a lease), so the
    # sweeper re-dispatches it only if that worker died.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["webhook", "-created_at", "-id"], name="delivery_webhook_list"),
            models.Index(fields=["webhook", "status", "-created_at", "-id"], name="delivery_status_list"),
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"
            ),
        ]

    def __str__(self):
        return f"{self.event_id} → {self.webhook_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, as the partner's server answered it."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(auto_now_add=True)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True)  # the first KB
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_per_number")]

    def __str__(self):
        return f"{self.delivery_id} #{self.number}"
