from django.contrib import admin, messages
from django.utils.html import format_html

from config.errors import ApiError
from tryons import services
from tryons.models import CartTryOnSession, TryOn


class ReadOnlyAdmin(admin.ModelAdmin):
    """Pipeline rows change only through the services (credits, events); staff watch and cancel."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TryOnInline(admin.TabularInline):
    model = TryOn
    fields = [
        "position",
        "id",
        "product_id",
        "category",
        "status",
        "attempts",
        "credits",
        "credits_refunded",
        "result",
        "error",
    ]
    readonly_fields = fields
    ordering = ["position"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Result")
    def result(self, obj):
        url = services.result_url(obj)
        return format_html('<a href="{}" target="_blank" rel="noopener">open</a>', url) if url else "—"


@admin.register(CartTryOnSession)
class CartTryOnSessionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "cart_id",
        "status",
        "progress_bar",
        "item_count",
        "render_quality",
        "credits_charged",
        "credits_refunded",
        "created_at",
    ]
    list_filter = ["status", "render_quality", "created_at"]
    search_fields = ["id", "cart_id", "organization__id", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in CartTryOnSession._meta.fields]
    inlines = [TryOnInline]
    actions = ["cancel_sessions"]

    @admin.display(description="Progress", ordering="progress")
    def progress_bar(self, obj):
        return format_html(
            '<progress value="{}" max="100" title="{}%"></progress> {}%',
            obj.progress,
            obj.progress,
            obj.progress,
        )

    def has_cancel_permission(self, request):
        return request.user.has_perm("tryons.cancel_carttryonsession")

    @admin.action(
        description="Cancel selected sessions (refund items not yet rendered)", permissions=["cancel"]
    )
    def cancel_sessions(self, request, queryset):
        cancelled = 0
        for session in queryset.filter(status__in=CartTryOnSession.ACTIVE):
            try:
                services.cart_session_cancel(
                    organization_id=session.organization_id, session_id=session.id, actor=request.user
                )
                cancelled += 1
            except ApiError as exc:
                self.message_user(request, f"{session.id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Cancelled {cancelled} session(s).", messages.SUCCESS)


@admin.register(TryOn)
class TryOnAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "session",
        "product_id",
        "category",
        "render_quality",
        "status",
        "render_ms",
        "created_at",
    ]
    list_filter = ["status", "render_quality", "category", "renderer", "created_at"]
    search_fields = ["id", "product_id", "session__id", "organization__id", "organization__name"]
    list_select_related = ["organization", "session"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in TryOn._meta.fields]
