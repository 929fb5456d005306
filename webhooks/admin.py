from django.contrib import admin, messages

from webhooks import services
from webhooks.models import Webhook, WebhookAttempt, WebhookDelivery


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = [
        "id",
        "event",
        "status",
        "attempt_count",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "created_at",
    ]
    readonly_fields = fields
    ordering = ["-created_at"]
    show_change_link = True
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = [
        "url",
        "organization",
        "is_active",
        "consecutive_failures",
        "disabled_reason",
        "created_at",
    ]
    list_filter = ["is_active", "created_at"]
    search_fields = ["id", "url", "organization__name", "organization__id"]
    list_select_related = ["organization"]
    # Secrets are deliberately absent: staff never need to see them.
    fields = [
        "id",
        "organization",
        "url",
        "description",
        "events",
        "is_active",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [DeliveryInline]
    actions = ["reenable_selected", "send_test_event"]

    def has_add_permission(self, request):
        return False  # endpoints are created through the API, where the secret can be shown once

    def has_change_permission(self, request, obj=None):
        return False

    def has_manage_permission(self, request):
        return request.user.has_perm("webhooks.manage_webhook")

    @admin.action(description="Re-enable selected webhooks", permissions=["manage"])
    def reenable_selected(self, request, queryset):
        count = 0
        for webhook in queryset:
            services.webhook_enable(webhook=webhook)
            count += 1
        self.message_user(request, f"Re-enabled {count} webhook(s).", messages.SUCCESS)

    @admin.action(description="Send test event", permissions=["manage"])
    def send_test_event(self, request, queryset):
        for webhook in queryset:
            attempt = services.webhook_test_send(webhook=webhook)
            if attempt.succeeded:
                self.message_user(
                    request,
                    f"{webhook.url}: delivered (HTTP {attempt.status_code}, {attempt.duration_ms} ms).",
                    messages.SUCCESS,
                )
            else:
                self.message_user(request, f"{webhook.url}: failed ({attempt.error}).", messages.ERROR)


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "attempted_at", "succeeded", "status_code", "duration_ms", "response_body", "error"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event_name",
        "webhook",
        "organization",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event__event", "organization"]
    search_fields = ["id", "event__id", "webhook__id", "webhook__url"]
    list_select_related = ["event", "webhook", "organization"]
    fields = [
        "id",
        "organization",
        "webhook",
        "event",
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="event", ordering="event__event")
    def event_name(self, obj):
        return obj.event.event
