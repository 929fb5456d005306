from decimal import Decimal

from django.db import models
from django.db.models import Q

from config.ids import PrefixedIdField
from customers.models import Customer, Photo
from organizations.models import Organization

CATEGORIES = ("tops", "bottoms", "dresses", "outerwear", "one-pieces")
# A session in one of these holds its cart content: an identical create returns it instead of charging again.
# A list, as the unique constraint below has always spelled it (a tuple would read as a migration).
LIVE_SESSION_STATUSES = ["queued", "processing", "completed", "partial"]


class CartTryOnSession(models.Model):
    """One customer photo against up to 20 garments, paid for up front and rendered item by item."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        COMPLETED = "completed"
        PARTIAL = "partial"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.PROCESSING)
    LIVE = LIVE_SESSION_STATUSES

    id = PrefixedIdField(prefix="cts")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="cart_sessions")
    # Erasing a customer must not erase what the organization was billed for: the session survives.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="cart_sessions"
    )
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    photo_key = models.CharField(max_length=255, blank=True)
    cart_id = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    render_quality = models.CharField(max_length=4)
    background_scene = models.CharField(max_length=50, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # SHA-256 of the request's content: a repeated identical create returns this session.
    content_hash = models.CharField(max_length=64)
    item_count = models.PositiveSmallIntegerField()
    progress = models.PositiveSmallIntegerField(default=0)
    credits_required = models.DecimalField(max_digits=10, decimal_places=2)
    credits_charged = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    credits_refunded = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    estimated_completion_at = models.DateTimeField(null=True, blank=True)
    # Times the sweeper re-queued it since an item last finished: a run that keeps dying, making no progress,
    # ends (tryons.services.sweeper.SWEEP_REQUEUE_LIMIT).
    sweep_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The run processing it (tryons.heartbeats): a token, empty while no worker owns it (queued, awaiting
    # callbacks). A lease whose heartbeat went stale belongs to a dead worker and is handed to a new run.
    lease = models.CharField(max_length=32, blank=True, default="")
    heartbeat_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "cart try-on session"
        # Cancelling refunds credits: money, so a permission of its own (the billing group's), not "view".
        permissions = [("cancel_carttryonsession", "Can cancel cart try-on sessions (refunds credits)")]
        indexes = [
            models.Index(fields=["organization", "cart_id"]),
            models.Index(fields=["organization", "status", "-created_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]
        constraints = [
            # Two concurrent identical creates (a partner's retry) must not both charge.
            models.UniqueConstraint(
                fields=["organization", "cart_id", "content_hash"],
                condition=Q(status__in=LIVE_SESSION_STATUSES),
                name="one_live_session_per_cart_content",
            ),
        ]

    def __str__(self):
        return f"{self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.ACTIVE


class TryOn(models.Model):
    """One garment rendered on one person photo: a cart item (`session` set) or a single try-on."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    id = PrefixedIdField(prefix="tryon")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tryons")
    session = models.ForeignKey(
        CartTryOnSession, null=True, blank=True, on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveSmallIntegerField(default=0)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="tryons"
    )
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    photo_key = models.CharField(max_length=255, blank=True)
    product_id = models.CharField(max_length=255)
    variant_id = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=500, blank=True)
    image_url = models.URLField(max_length=2048)
    category = models.CharField(max_length=20)
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    render_quality = models.CharField(max_length=4)
    background_scene = models.CharField(max_length=50, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    credits = models.DecimalField(max_digits=10, decimal_places=2)
    credits_refunded = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    # Render attempts so far, kept on the row so a redelivered task does not reset the retry budget.
    attempts = models.PositiveSmallIntegerField(default=0)
    renderer = models.CharField(max_length=20, blank=True)
    # Set while an asynchronous renderer (eventbridge) owns the item; its callback must quote it.
    render_job_id = models.CharField(max_length=64, blank=True)
    awaiting_callback = models.BooleanField(default=False)
    render_ms = models.PositiveIntegerField(null=True, blank=True)
    result_key = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Single try-ons only (cart items live and die with their session's lease), as on the session.
    lease = models.CharField(max_length=32, blank=True, default="")
    heartbeat_at = models.DateTimeField(auto_now_add=True)
    sweep_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "try-on"
        indexes = [
            models.Index(fields=["session", "position"]),
            models.Index(fields=["organization", "session", "-created_at"]),
            models.Index(fields=["status", "completed_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "position"],
                condition=Q(session__isnull=False),
                name="one_item_per_position",
            ),
        ]

    def __str__(self):
        return f"{self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
