from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from api.admin_actions import action_confirm, admin_link
from api.errors import ApiError
from tryons.models import CartTryOnSession, EngineCircuit, EngineJob, Look, TryOn
from tryons.renderers.registry import RENDERERS
from tryons.representation import result_url
from tryons.services.cancellation import cart_session_cancel
from tryons.services.rerun import cart_item_rerun, user_can_rerun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Pipeline rows change only through the services (credits, events); staff watch and cancel."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def item_label(tryon: TryOn) -> str:
    """A cart row as people (and the ledger's texts) count it, from 1: "3", or "3 · sample 2"."""
    return f"{tryon.position + 1}" + (f" · sample {tryon.sample + 1}" if tryon.sample else "")


def result_thumbnail(obj: TryOn | Look, alt: str) -> str:
    """A thumbnail from the same expiring signed URL partners get; the full image opens on click."""
    url = result_url(obj)
    if not url:
        return "—"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img class="console-thumb" src="{}" alt="{}"></a>',
        url,
        url,
        alt,
    )


class TryOnInline(admin.TabularInline):
    model = TryOn
    fields = [
        "item_number",
        "id",
        "product_id",
        "category",
        "status",
        "attempts",
        "reruns",
        "renderer",
        "render_ms",
        "reused",
        "credits",
        "credits_refunded",
        "result",
        "duration",
        "error_code",
        "error",
    ]
    readonly_fields = fields
    ordering = ["position", "sample"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    # Items are stored from position 0; people (and the ledger's refund texts) count from 1.
    @admin.display(description="Item", ordering="position")
    def item_number(self, obj):
        return item_label(obj)

    @admin.display(description="Result")
    def result(self, obj):
        return result_thumbnail(obj, f"result {obj.pk}")

    # Render reuse (tryons.reuse): the earlier render handed out instead of rendering, linked.
    @admin.display(description="Reused from")
    def reused(self, obj):
        if not obj.reused_from:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:tryons_tryon_change", args=[obj.reused_from]),
            obj.reused_from,
        )

    @admin.display(description="Duration")
    def duration(self, obj):
        return item_duration(obj)


class LookInline(admin.TabularInline):
    """A cart's looks, each with its steps (one render per garment put on, in order) linked to their rows."""

    model = Look
    fields = [
        "look_id",
        "status",
        "garments",
        "steps",
        "renders",
        "credits",
        "credits_refunded",
        "result",
        "error",
    ]
    readonly_fields = fields
    ordering = ["position"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Garments (put on in order)")
    def garments(self, obj):
        items = dict(TryOn.objects.filter(session_id=obj.session_id).values_list("position", "category"))
        return " → ".join(f"item {p + 1} ({items.get(p, '?')})" for p in obj.item_positions)

    @admin.display(description="Steps")
    def steps(self, obj):
        rows = TryOn.objects.filter(look=obj).order_by("look_step")
        reused = (
            format_html("item {} (its own render) · ", obj.item_positions[0] + 1) if obj.reuses_item else ""
        )
        links = format_html_join(
            " · ", "{} {}", ((admin_link(step, step.category), step.status) for step in rows)
        )
        return format_html("{}{}", reused, links) if rows or reused else "—"

    @admin.display(description="Result")
    def result(self, obj):
        return result_thumbnail(obj, f"look {obj.look_id}")


def item_duration(tryon: TryOn) -> str:
    """How long the item took: render time if the renderer reported it, else start to finish."""
    if tryon.render_ms is not None:
        return f"{tryon.render_ms / 1000:.1f} s"
    if tryon.started_at and tryon.completed_at:
        return f"{(tryon.completed_at - tryon.started_at).total_seconds():.1f} s"
    return "—"


class SessionEngineFilter(admin.SimpleListFilter):
    """Sessions with at least one item rendered (or rendering) by an engine: where support starts when one
    provider misbehaves."""

    title = "engine"
    parameter_name = "engine"

    def lookups(self, request, model_admin):
        return [(name, name) for name in RENDERERS]

    def queryset(self, request, queryset):
        if self.value() in RENDERERS:
            return queryset.filter(
                Exists(TryOn.objects.filter(session=OuterRef("pk"), renderer=self.value()))
            )
        return queryset


@admin.register(CartTryOnSession)
class CartTryOnSessionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "cart_id",
        "organization_link",
        "status",
        "progress_bar",
        "item_count",
        "credits_charged",
        "created_at",
    ]
    list_display_links = ["id"]
    list_filter = [
        "status",
        SessionEngineFilter,
        ("organization", admin.RelatedOnlyFieldListFilter),
        "render_quality",
        "created_at",
    ]
    search_fields = ["id", "cart_id", "organization__id", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in CartTryOnSession._meta.fields]
    inlines = [TryOnInline, LookInline]
    actions = ["cancel_sessions"]

    @admin.display(description="Progress", ordering="progress")
    def progress_bar(self, obj):
        return format_html(
            '<progress value="{}" max="100" title="{}%"></progress> {}%',
            obj.progress,
            obj.progress,
            obj.progress,
        )

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, obj):
        return admin_link(obj.organization, obj.organization.display_name)

    def has_cancel_permission(self, request):
        return request.user.has_perm("tryons.cancel_carttryonsession")

    @admin.action(
        description="Cancel selected sessions (refund items not yet rendered)", permissions=["cancel"]
    )
    def cancel_sessions(self, request, queryset):
        active = queryset.filter(status__in=CartTryOnSession.ACTIVE)
        if not active.exists():
            self.message_user(
                request, "None of the selected sessions is queued or processing.", messages.WARNING
            )
            return None
        return action_confirm(
            self,
            request,
            active,
            action="cancel_sessions",
            title="Cancel cart try-on sessions",
            consequence=(
                "These sessions will stop: items not yet rendered, an item being rendered included, are "
                "cancelled and refunded to the organization. This cannot be undone."
            ),
            button="Yes, cancel these sessions",
            act=lambda sessions: self._cancel(request, sessions),
        )

    def _cancel(self, request, sessions):
        cancelled = 0
        for session in sessions:
            try:
                session = cart_session_cancel(
                    organization_id=session.organization_id, session_id=session.id, actor=request.user
                )
            except ApiError as exc:
                self.message_user(request, f"{session.id}: {exc.message}", messages.WARNING)
                continue
            self.log_change(request, session, f"Cancelled; refunded {session.credits_refunded} credits.")
            cancelled += 1
        self.message_user(request, f"Cancelled {cancelled} session(s).", messages.SUCCESS)


# Per render attempt on a hosted engine: provider job id, queue and render time, cost, how it ended.
ENGINE_JOB_FIELDS = [
    "id",
    "engine",
    "model",
    "state",
    "provider_job_id",
    "provider_status",
    "polls",
    "submitted_at",
    "queue_ms",
    "render_ms",
    "cost",
    "cost_unit",
    "error",
]


class EngineJobInline(admin.TabularInline):
    model = EngineJob
    fields = ENGINE_JOB_FIELDS
    readonly_fields = fields
    ordering = ["created_at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EngineJob)
class EngineJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "engine", "model", "state", "provider_job_id", "queue_ms", "render_ms"]
    list_filter = ["engine", "state", "created_at"]
    search_fields = ["id", "provider_job_id", "tryon__id"]
    readonly_fields = [field.name for field in EngineJob._meta.fields]
    date_hierarchy = "created_at"


# What the operator does about a circuit opened at once (EngineCircuit.open_reason).
CIRCUIT_ALERTS = {
    "out_of_credits": "Out of credits: refill the account. Until then the fallback renders new items.",
}


@admin.register(EngineCircuit)
class EngineCircuitAdmin(ReadOnlyAdmin):
    list_display = ["engine", "alert", "consecutive_failures", "open_until", "updated_at"]
    readonly_fields = ["engine", "alert", "consecutive_failures", "open_until", "open_reason", "updated_at"]

    @admin.display(description="Alert")
    def alert(self, obj):
        return CIRCUIT_ALERTS.get(obj.open_reason, obj.open_reason)


@admin.register(TryOn)
class TryOnAdmin(ReadOnlyAdmin):
    inlines = [EngineJobInline]
    list_display = [
        "id",
        "session_link",
        "item_number",
        "organization_link",
        "product_id",
        "status",
        "created_at",
    ]
    list_display_links = ["id"]
    list_filter = ["status", "render_quality", "category", "renderer", "created_at"]
    search_fields = ["id", "product_id", "session__id", "organization__id", "organization__name"]
    list_select_related = ["organization", "session"]
    date_hierarchy = "created_at"
    # The stored 0-based position is shown as the item's number, counted from 1.
    readonly_fields = [
        "item_number" if field.name == "position" else field.name for field in TryOn._meta.fields
    ]
    exclude = ["position"]
    actions = ["rerun_failed_items"]

    def has_rerun_permission(self, request):
        return user_can_rerun(request.user)

    @admin.action(
        description="Re-run selected failed cart items (charges their price again)", permissions=["rerun"]
    )
    def rerun_failed_items(self, request, queryset):
        failed = queryset.filter(status=TryOn.Status.FAILED, session__isnull=False)
        if not failed.exists():
            self.message_user(request, "None of the selected items is a failed cart item.", messages.WARNING)
            return None
        return action_confirm(
            self,
            request,
            failed,
            action="rerun_failed_items",
            title="Re-run failed cart items",
            consequence=(
                "Each item is rendered once more and its price is charged to its organization again (it "
                "was refunded when it failed); if it fails again it is refunded again. Its session reopens "
                "and the partner gets the session's end event again with the new result."
            ),
            button="Yes, re-run and charge these items",
            act=lambda items, reason: self._rerun(request, items, reason),
            reason_label="Reason (recorded on the ledger entry and in the history)",
        )

    def _rerun(self, request, items, reason):
        rerun = 0
        for item in items:
            try:
                item = cart_item_rerun(tryon_id=item.pk, actor=request.user, reason=reason)
            except ApiError as exc:
                self.message_user(request, f"{item.pk}: {exc.message}", messages.WARNING)
                continue
            self.log_change(
                request, item, f"Re-run {item.reruns}; charged {item.credits} credits. Reason: {reason}"
            )
            rerun += 1
        self.message_user(request, f"Re-ran {rerun} item(s).", messages.SUCCESS)

    @admin.display(description="Session", ordering="session_id")
    def session_link(self, obj):
        return admin_link(obj.session)

    @admin.display(description="Item", ordering="position")
    def item_number(self, obj):
        # Counted from 1, as in the session page and the ledger; single try-ons have no session.
        return item_label(obj) if obj.session_id else "-"

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, obj):
        return admin_link(obj.organization, obj.organization.display_name)


# The catalogue's page, beside its code (tryons.catalogue), registered with the rest of tryons' pages.
from tryons.catalogue import admin as catalogue_admin  # noqa: E402, F401
