from django.conf import settings
from django.db import models
from django.utils import timezone

from config.ids import PrefixedIdField
from organizations.models import Organization


class ApiKey(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"
        EXPIRED = "expired"

    id = PrefixedIdField(prefix="key")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=120)
    # `gx_live_` plus the key's first characters: shown to partners, used to find the row, never secret.
    key_prefix = models.CharField(max_length=32, unique=True)
    # bcrypt (cost 10) of the whole key. The key itself is shown once and never stored.
    key_hash = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    rate_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty = default"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    usage_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        permissions = [("revoke_apikey", "Can revoke API keys")]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return self.Status.REVOKED
        if self.expires_at and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    @property
    def effective_rate_limit(self) -> int:
        return self.rate_limit or settings.API_KEY_DEFAULT_RATE_LIMIT


class ApiUsageRecord(models.Model):
    """One partner request made with a key. Written in bulk by the usage flush, pruned after retention."""

    # No index of its own: the (api_key, created_at) index below serves lookups by key.
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, related_name="usage_records", db_index=False
    )
    method = models.CharField(max_length=10)
    # The URL pattern, e.g. /api/v1/customers/{externalId}: groups requests without leaking ids.
    route = models.CharField(max_length=200)
    status_code = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API usage record"
        indexes = [models.Index(fields=["api_key", "created_at"], name="apikeys_usage_key_time")]

    def __str__(self):
        return f"{self.method} {self.route} → {self.status_code}"
