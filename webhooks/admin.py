from django.contrib import admin, messages

from api.admin_actions import admin_link
from api.errors import ApiError
from webhooks import selectors, services
from webhooks.models import Webhook, WebhookAttempt, WebhookDelivery

FAILURE_STREAK_HELP = (
    "Deliveries in a row that failed after all their attempts (each delivery is tried once plus the "
    f"organization's webhookRetries); the endpoint is disabled at {services.FAILURES_BEFORE_DISABLE}. "
    "The API's consecutiveFailures is this number."
)


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = [
        "id",
        "event",
        "status",
        "attempt_count",
        "last_status_code",
        "last_response",
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

    @admin.display(description="Last response (truncated)")
    def last_response(self, delivery):
        attempt = delivery.attempts.order_by("-number").only("response_body").first()
        return truncate_body(attempt.response_body) if attempt else "—"


RESPONSE_BODY_SHOWN = 200


def truncate_body(body: str) -> str:
    return body if len(body) <= RESPONSE_BODY_SHOWN else body[:RESPONSE_BODY_SHOWN] + "…"


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "url", "organization_link", "is_active", "failure_streak", "created_at"]
    list_display_links = ["id"]
    list_filter = ["is_active", "created_at"]
    search_fields = ["id", "url", "organization__name", "organization__id"]
    list_select_related = ["organization"]
    # Secrets are deliberately absent: staff never need to see them.
    readonly_fields = [
        "id",
        "organization",
        "url",
        "description",
        "events",
        "created_at",
        "updated_at",
        "previous_secret_expires_at",
        "is_active",
        "failure_streak",
        "failed_attempts_in_streak",
        "disabled_at",
        "disabled_reason",
    ]
    fieldsets = [
        (None, {"fields": readonly_fields[:8]}),
        ("Health", {"fields": readonly_fields[8:], "description": FAILURE_STREAK_HELP}),
    ]
    inlines = [DeliveryInline]
    actions = ["reenable_selected", "send_test_event"]

    def has_add_permission(self, request):
        return False  # endpoints are created through the API, where the secret can be shown once

    def has_change_permission(self, request, obj=None):
        return False

    def has_manage_permission(self, request):
        return request.user.has_perm("webhooks.manage_webhook")

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, webhook):
        return admin_link(webhook.organization, webhook.organization.name)

    @admin.display(description="Failed deliveries in a row", ordering="consecutive_failures")
    def failure_streak(self, webhook):
        return f"{webhook.consecutive_failures} of {services.FAILURES_BEFORE_DISABLE}"

    @admin.display(description="Failed attempts since the last success")
    def failed_attempts_in_streak(self, webhook):
        return selectors.webhook_failed_attempts_in_streak(webhook=webhook)

    @admin.action(description="Re-enable selected webhooks", permissions=["manage"])
    def reenable_selected(self, request, queryset):
        count = 0
        for webhook in queryset:
            services.webhook_enable(webhook=webhook)
            self.log_change(request, webhook, "Re-enabled the endpoint (failure streak reset).")
            count += 1
        self.message_user(request, f"Re-enabled {count} webhook(s).", messages.SUCCESS)

    @admin.action(description="Send test event", permissions=["manage"])
    def send_test_event(self, request, queryset):
        for webhook in queryset:
            attempt = services.webhook_test_send(webhook=webhook)
            # The message starts with words, not the URL: the console capitalises a message's first
            # letter, which turned "http://…" into "Http://…".
            if attempt.succeeded:
                outcome = f"delivered (HTTP {attempt.status_code}, {attempt.duration_ms} ms)"
                self.message_user(request, f"Test event to {webhook.url}: {outcome}.", messages.SUCCESS)
            else:
                outcome = f"failed ({attempt.error})"
                self.message_user(request, f"Test event to {webhook.url}: {outcome}.", messages.ERROR)
            self.log_change(request, webhook, f"Sent a test event: {outcome}.")


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
        "webhook_link",
        "status",
        "attempt_count",
        "last_status_code",
        "created_at",
    ]
    list_display_links = ["id"]
    list_filter = ["status", "event__event", "organization"]
    search_fields = ["id", "event__id", "webhook__id", "webhook__url"]
    list_select_related = ["event", "webhook", "organization"]
    actions = ["redeliver_selected"]
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

    def has_manage_permission(self, request):
        return request.user.has_perm("webhooks.manage_webhook")

    @admin.action(
        description="Redeliver selected deliveries (a new delivery of the same event)", permissions=["manage"]
    )
    def redeliver_selected(self, request, queryset):
        count = 0
        for delivery in queryset.select_related("webhook"):
            try:
                again = services.webhook_delivery_redeliver(delivery=delivery)
            except ApiError as exc:
                self.message_user(request, f"{delivery.pk}: {exc.message}", messages.WARNING)
                continue
            self.log_addition(request, again, f"Redelivery of {delivery.pk} ({delivery.event_id}).")
            count += 1
        self.message_user(request, f"Queued {count} redelivery(ies).", messages.SUCCESS)

    @admin.display(description="event", ordering="event__event")
    def event_name(self, obj):
        return obj.event.event

    @admin.display(description="Webhook", ordering="webhook__url")
    def webhook_link(self, obj):
        return admin_link(obj.webhook, obj.webhook.url)
