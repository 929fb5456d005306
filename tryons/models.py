from decimal import Decimal

from django.db import models
from django.db.models import Q

from api.ids import PrefixedIdField
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
    # Foreign keys without their own index (db_index=False) are indexed in Meta.indexes: Django's own
    # indexes on text keys come with a second, `varchar_pattern_ops` one for LIKE that no query of ours
    # uses, and every index is written on each insert (20 item rows per cart create).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="cart_sessions", db_index=False
    )
    # Erasing a customer must not erase what the organization was billed for: the session survives.
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cart_sessions",
        db_index=False,
    )
    photo = models.ForeignKey(
        Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    photo_key = models.CharField(max_length=255, blank=True)
    cart_id = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    render_quality = models.CharField(max_length=4)
    background_scene = models.CharField(max_length=50, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # SHA-256 of the request's content: a repeated identical create returns this session.
    content_hash = models.CharField(max_length=64)
    item_count = models.PositiveSmallIntegerField()
    # Its looks (tryons.models.Look), counted so that a cart without any reads none; and whether its items
    # are rendered alone too (renderItems).
    look_count = models.PositiveSmallIntegerField(default=0, db_default=0)
    render_items = models.BooleanField(default=True, db_default=True)
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
        ordering = ["-created_at", "-id"]
        verbose_name = "cart try-on session"
        # Cancelling refunds credits: money, so a permission of its own (the billing group's), not "view".
        permissions = [("cancel_carttryonsession", "Can cancel cart try-on sessions (refunds credits)")]
        indexes = [
            # One per filter combination of the list (by organization, by cartId, by status), each in the
            # list's order, so every page is an index walk that stops at the page's end. The first also
            # serves the organization foreign key.
            models.Index(fields=["organization", "-created_at", "-id"], name="cart_session_org_list"),
            models.Index(
                fields=["organization", "cart_id", "-created_at", "-id"], name="cart_session_cart_list"
            ),
            models.Index(
                fields=["organization", "status", "-created_at", "-id"], name="cart_session_status_list"
            ),
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["customer"], name="cart_session_customer"),
            models.Index(fields=["photo"], name="cart_session_photo"),
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


class Look(models.Model):
    """Several of a cart's garments on the shopper in one image (tryons.looks), put on one render at a time:
    each step renders the next garment on the previous step's result (a TryOn row with `look` set), the
    first on the customer's photo, or on the cart item's own result when the cart renders that garment."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.PROCESSING)
    FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    id = PrefixedIdField(prefix="look")
    session = models.ForeignKey(CartTryOnSession, on_delete=models.CASCADE, related_name="looks")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    position = models.PositiveSmallIntegerField()
    look_id = models.CharField(max_length=64)
    # The cart positions of its garments, in the order they are put on (inside out).
    item_positions = models.JSONField()
    # Whether its first garment is the cart item's own render (renderItems): then it is not rendered again.
    reuses_item = models.BooleanField(default=False)
    renders = models.PositiveSmallIntegerField()  # the renders it is charged for
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    garments_on = models.PositiveSmallIntegerField(default=0)
    credits = models.DecimalField(max_digits=10, decimal_places=2)
    credits_refunded = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    result_key = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "position"], name="one_look_per_position"),
            models.UniqueConstraint(fields=["session", "look_id"], name="look_ids_unique_in_cart"),
        ]

    def __str__(self):
        return f"{self.look_id} of {self.session_id} ({self.status})"


class TryOn(models.Model):
    """One garment rendered on one person photo: a cart item (`session` set), a single try-on, or a step of
    a look (`look` set: the look's garment number `look_step` on the previous step's result)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"
        # A cart item the partner asked not to render alone (renderItems: false): only its looks show it.
        SKIPPED = "skipped"

    FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.SKIPPED)
    ACTIVE = [Status.QUEUED, Status.PROCESSING]

    id = PrefixedIdField(prefix="tryon")
    # Foreign keys indexed in Meta.indexes, as on the session (why there).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="tryons", db_index=False
    )
    session = models.ForeignKey(
        CartTryOnSession,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="items",
        db_index=False,
    )
    position = models.PositiveSmallIntegerField(default=0)
    # Which of the cart item's samples (numSamples) this row renders: 0 is the item itself; each further
    # sample is a row of its own at the same position, rendered, charged and refunded as one render.
    sample = models.PositiveSmallIntegerField(default=0, db_default=0)
    look = models.ForeignKey(
        Look, null=True, blank=True, on_delete=models.CASCADE, related_name="steps", db_index=False
    )
    look_step = models.PositiveSmallIntegerField(null=True, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="tryons", db_index=False
    )
    photo = models.ForeignKey(
        Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
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
    # The render controls (tryons.controls) it was asked for; "" and null: the defaults (auto, jpeg, none).
    garment_photo_type = models.CharField(max_length=10, blank=True, default="", db_default="")
    seed = models.BigIntegerField(null=True, blank=True)
    # Whether the partner gave the seed (else we chose it, for several samples to differ): only a given
    # seed is part of the reuse key (tryons.reuse).
    seed_given = models.BooleanField(default=False, db_default=False)
    output_format = models.CharField(max_length=5, blank=True, default="", db_default="")
    # Render reuse (tryons.reuse): whether this render may take an earlier identical one's image (`reuse`),
    # its key once its inputs are known, and the render whose image it took.
    reuse = models.BooleanField(default=True, db_default=True)
    reuse_key = models.CharField(max_length=64, blank=True, default="", db_default="")
    reused_from = models.CharField(max_length=64, blank=True, default="", db_default="")
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
    # The stored result as delivered: {format, width, height}, and the hosted model that rendered it.
    result_info = models.JSONField(default=dict, blank=True, db_default={})
    error_code = models.CharField(max_length=40, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Single try-ons only (cart items live and die with their session's lease), as on the session.
    lease = models.CharField(max_length=32, blank=True, default="")
    heartbeat_at = models.DateTimeField(auto_now_add=True)
    sweep_count = models.PositiveSmallIntegerField(default=0)
    # Staff re-runs of this failed cart item (tryons.services.rerun): each is charged and, if it fails
    # again, refunded under references of its own, so the number is part of every reference and job id.
    # db_default too: rows written by raw SQL (bulk fills) or by code from before this column get 0.
    reruns = models.PositiveSmallIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "try-on"
        # A re-run charges the organization again: money, so a permission of its own (the billing group's).
        permissions = [("rerun_tryon", "Can re-run a failed cart item (charges credits again)")]
        indexes = [
            # A session's items are found through the unique (session, position, sample) index below.
            models.Index(fields=["organization"], name="tryon_organization"),
            models.Index(fields=["customer"], name="tryon_customer"),
            models.Index(fields=["photo"], name="tryon_photo"),
            # The single try-on list (cart items are listed through their session): partial, so cart items
            # neither bloat it nor sit between a page's rows.
            models.Index(
                fields=["organization", "-created_at", "-id"],
                condition=Q(session__isnull=True),
                name="tryon_single_list",
            ),
            models.Index(
                fields=["organization", "status", "-created_at", "-id"],
                condition=Q(session__isnull=True),
                name="tryon_single_status_list",
            ),
            models.Index(fields=["status", "completed_at"]),
            # Render reuse: an organization's completed renders by key, newest first; only rows with a key.
            models.Index(
                fields=["organization", "reuse_key", "-completed_at"],
                condition=Q(status="completed") & ~Q(reuse_key=""),
                name="tryon_reuse_lookup",
            ),
            # An organization's backlog for the completion estimate of every create: only live items, so
            # its size is the queue's, not the history's.
            models.Index(
                fields=["organization"],
                condition=Q(status__in=["queued", "processing"]),
                name="tryon_org_backlog",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "position", "sample"],
                condition=Q(session__isnull=False),
                name="one_row_per_item_sample",
            ),
            # A step is created once, by the transaction that finished the one before (a re-run adds none).
            models.UniqueConstraint(
                fields=["look", "look_step"], condition=Q(look__isnull=False), name="one_step_per_look_step"
            ),
        ]

    def __str__(self):
        return f"{self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class EngineJob(models.Model):
    """One render attempt on a hosted engine (FASHN, fal.ai, Replicate): submitted, polled, never waited on.

    The row is the whole state of the attempt, so any worker can take the next step (submit, poll, settle)
    and a lost poll message is found again by the sweeper. `state` only moves forward through conditional
    UPDATEs: two workers polling one job settle it once.
    """

    class State(models.TextChoices):
        WAITING = "waiting"  # no slot under the engine's concurrency cap (or throttled): not yet submitted
        SUBMITTED = "submitted"  # the provider holds it (queued or running there)
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        TIMED_OUT = "timed_out"
        ABANDONED = "abandoned"  # the item ended another way (cancelled, erased)

    IN_FLIGHT = (State.SUBMITTED,)
    OPEN = (State.WAITING, State.SUBMITTED)

    # Our job id, "<tryon id>.<attempt>" (the item's render_job_id while it is current).
    id = models.CharField(primary_key=True, max_length=64)
    tryon = models.ForeignKey(TryOn, on_delete=models.CASCADE, related_name="engine_jobs")
    engine = models.CharField(max_length=20)
    model = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    provider_job_id = models.CharField(max_length=200, blank=True)
    # The provider's own links for this job (fal: status/response/cancel URLs; Replicate: get/cancel).
    provider_urls = models.JSONField(default=dict, blank=True)
    provider_status = models.CharField(max_length=40, blank=True)
    # Where the inputs live while the provider may still read them (our garment copy); deleted at the end.
    garment_key = models.CharField(max_length=255, blank=True)
    polls = models.PositiveIntegerField(default=0)
    # Consecutive throttled/unavailable answers: the backoff grows with it, a success resets it.
    backoffs = models.PositiveSmallIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # first seen running at the provider
    finished_at = models.DateTimeField(null=True, blank=True)
    queue_ms = models.PositiveIntegerField(null=True, blank=True)
    render_ms = models.PositiveIntegerField(null=True, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    cost_unit = models.CharField(max_length=20, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "engine job"
        indexes = [
            models.Index(fields=["engine", "state", "created_at"]),
            models.Index(fields=["state", "next_step_at"]),
        ]

    def __str__(self):
        return f"{self.id} on {self.engine} ({self.state})"


class EngineCircuit(models.Model):
    """Per engine: its circuit breaker, and the row admissions lock so the cap holds across workers."""

    engine = models.CharField(primary_key=True, max_length=20)
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    # Why it was opened at once, not by counting failures (e.g. out_of_credits); cleared by a success. A
    # database default, so code from before this column still inserts rows during a rolling deploy.
    open_reason = models.CharField(max_length=40, blank=True, db_default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "engine circuit"

    def __str__(self):
        return self.engine


# The catalogue's model lives with its code (tryons.catalogue); imported here so Django finds it.
from tryons.catalogue.models import Garment  # noqa: E402, F401
