import math

from django.conf import settings
from django.db import models
from django.utils import timezone

from api.ids import PrefixedIdField
from organizations.models import Organization


class ApiKey(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"
        EXPIRED = "expired"

    class Mode(models.TextChoices):
        LIVE = "live"
        TEST = "test"

    id = PrefixedIdField(prefix="key")
    # The live organization, whatever the mode: a test key acts as its sandbox (Organization.sandbox).
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.LIVE)
    name = models.CharField(max_length=120)
    # `gx_live_` / `gx_test_` plus the first characters: shown to partners, finds the row, never secret.
    key_prefix = models.CharField(max_length=32, unique=True)
    # bcrypt (cost 10) of the whole key. The key itself is shown once and never stored.
    key_hash = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    rate_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty = default"
    )
    # The hour and day windows beside rate_limit's minute, and an optional monthly quota (README, "Rate
    # limits per minute, hour and day"); empty = RATE_LIMIT_PER_HOUR_DEFAULT / _PER_DAY_DEFAULT, no quota.
    rate_limit_per_hour = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Requests per hour; empty = default"
    )
    rate_limit_per_day = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Requests per day; empty = default"
    )
    monthly_quota = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Requests per calendar month (UTC); empty = no quota"
    )
    # Per-operation limits on top of rate_limit, e.g. {"cart-tryons:create": 10} requests per minute.
    endpoint_limits = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change the hot path must see (PATCH, roll): verifications cached at an older version
    # are re-done on every web process (apikeys/admission.py).
    version = models.PositiveIntegerField(default=1)
    # The key that replaced this one in a roll; this one keeps working until its expires_at.
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
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
    # The expires_at each expiry reminder (apikeys.expiry_reminders) was sent for: a reminder is due again
    # only when the expiry changes, and claiming one is a conditional UPDATE of these.
    expiry_reminded_week_for = models.DateTimeField(null=True, blank=True, editable=False)
    expiry_reminded_day_for = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="apikey_org_list"),
            # The beat's look for keys about to expire (reminders) or just expired, among live keys only.
            models.Index(
                fields=["expires_at"],
                name="apikey_expiring",
                condition=models.Q(revoked_at__isnull=True, expires_at__isnull=False),
            ),
        ]
        permissions = [
            ("revoke_apikey", "Can revoke API keys"),
            ("roll_apikey", "Can roll API keys"),
        ]

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

    @property
    def effective_rate_limit_per_hour(self) -> int:
        """Requests per hour; 0 = no hourly limit (only when the deployment's default says so)."""
        return self.rate_limit_per_hour or self._window_default(settings.RATE_LIMIT_PER_HOUR_DEFAULT)

    @property
    def effective_rate_limit_per_day(self) -> int:
        return self.rate_limit_per_day or self._window_default(settings.RATE_LIMIT_PER_DAY_DEFAULT)

    def _window_default(self, default: int) -> int:
        # The defaults keep their ratio to the per-minute default (60 : 1,000 : 10,000): a key whose rateLimit
        # was raised gets its hour and day raised alike, never lowered below the defaults.
        minute_default = settings.API_KEY_DEFAULT_RATE_LIMIT
        return max(default, math.ceil(default * self.effective_rate_limit / minute_default)) if default else 0


class ApiKeyEvent(models.Model):
    """The audit trail of a key: who created, changed, rolled or revoked it, and when it expired."""

    class Kind(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"
        ROLLED = "rolled"
        REVOKED = "revoked"
        EXPIRED = "expired"

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What changed, e.g. {"scopes": {"from": [...], "to": [...]}}, or the new key's id for a roll.
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key event"
        constraints = [
            # A key expires once: the beat task that records expiries may overlap itself harmlessly.
            models.UniqueConstraint(
                fields=["api_key"], condition=models.Q(kind="expired"), name="apikey_event_expired_once"
            )
        ]

    def __str__(self):
        return f"{self.api_key_id} {self.kind}"
