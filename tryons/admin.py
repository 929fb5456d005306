from django.contrib import admin, messages
from django.utils.html import format_html

from config.console import action_confirm, admin_link
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
        "item_number",
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

    # Items are stored from position 0; people (and the ledger's refund texts) count from 1.
    @admin.display(description="Item", ordering="position")
    def item_number(self, obj):
        return obj.position + 1

    @admin.display(description="Result")
    def result(self, obj):
        url = services.result_url(obj)
        return format_html('<a href="{}" target="_blank" rel="noopener">open</a>', url) if url else "—"


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

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, obj):
        return admin_link(obj.organization, obj.organization.name)

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
                "These sessions will stop: items not yet rendered are cancelled and refunded to the "
                "organization, an item being rendered finishes. This cannot be undone."
            ),
            button="Yes, cancel these sessions",
            act=lambda sessions: self._cancel(request, sessions),
        )

    def _cancel(self, request, sessions):
        cancelled = 0
        for session in sessions:
            try:
                session = services.cart_session_cancel(
                    organization_id=session.organization_id, session_id=session.id, actor=request.user
                )
            except ApiError as exc:
                self.message_user(request, f"{session.id}: {exc.message}", messages.WARNING)
                continue
            self.log_change(request, session, f"Cancelled; refunded {session.credits_refunded} credits.")
            cancelled += 1
        self.message_user(request, f"Cancelled {cancelled} session(s).", messages.SUCCESS)


@admin.register(TryOn)
class TryOnAdmin(ReadOnlyAdmin):
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

    @admin.display(description="Session", ordering="session_id")
    def session_link(self, obj):
        return admin_link(obj.session)

    @admin.display(description="Item", ordering="position")
    def item_number(self, obj):
        # Counted from 1, as in the session page and the ledger; single try-ons have no session.
        return obj.position + 1 if obj.session_id else "-"

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, obj):
        return admin_link(obj.organization, obj.organization.name)
