from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey, ApiUsageRecord
from config.console import action_confirm, admin_link


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ApiKey.Status.choices

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == ApiKey.Status.REVOKED:
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == ApiKey.Status.EXPIRED:
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == ApiKey.Status.ACTIVE:
            not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
            return queryset.filter(not_expired, revoked_at__isnull=True)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # What support looks for at a glance; expiry, creator and usage count are on the key's page.
    list_display = [
        "key_prefix",
        "name",
        "organization_link",
        "status",
        "scopes",
        "effective_rate_limit",
        "last_used_at",
    ]
    list_display_links = ["key_prefix"]
    list_filter = [StatusFilter, "organization", "created_at", "last_used_at"]
    search_fields = ["id", "name", "key_prefix", "organization__name", "organization__id"]
    list_select_related = ["organization"]
    # key_hash is deliberately absent: the verifier is never displayed.
    fields = [
        "id",
        "organization",
        "name",
        "key_prefix",
        "scopes",
        "effective_rate_limit",
        "expires_at",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
        "last_used_at",
        "usage_count",
    ]
    readonly_fields = fields
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False  # keys are created through the API, where the secret can be shown once

    def has_change_permission(self, request, obj=None):
        return False  # nothing here is editable; revoking goes through the action

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the history stays

    def has_revoke_permission(self, request):
        return request.user.has_perm("apikeys.revoke_apikey")

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, key):
        return admin_link(key.organization, key.organization.name)

    # The limit the rate limiter applies, as GET /api/organizations/{id}/api-keys reports it.
    @admin.display(description="Rate limit (requests/min)", ordering="rate_limit")
    def effective_rate_limit(self, key):
        return f"{key.effective_rate_limit} (default)" if key.rate_limit is None else key.effective_rate_limit

    @admin.action(description="Revoke selected keys…", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        active = queryset.filter(revoked_at__isnull=True).select_related("organization")
        if not active.exists():
            self.message_user(request, "The selected keys are already revoked.", messages.WARNING)
            return None
        return action_confirm(
            self,
            request,
            active,
            action="revoke_selected",
            title="Revoke API keys",
            consequence=(
                "These keys will stop working on their next request, on every server. "
                "Revoking cannot be undone: the partner will need a new key."
            ),
            button="Yes, revoke these keys",
            act=lambda keys: self._revoke(request, keys),
        )

    def _revoke(self, request, keys):
        count = 0
        for key in keys:
            services.apikey_revoke(key=key, actor=request.user)
            self.log_change(request, key, "Revoked the key.")
            count += 1
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


class StatusClassFilter(admin.SimpleListFilter):
    title = "status class"
    parameter_name = "status_class"

    def lookups(self, request, model_admin):
        return [(str(n), f"{n}xx") for n in (2, 3, 4, 5)]

    def queryset(self, request, queryset):
        if self.value() in {"2", "3", "4", "5"}:
            low = int(self.value()) * 100
            return queryset.filter(status_code__gte=low, status_code__lt=low + 100)
        return queryset


@admin.register(ApiUsageRecord)
class ApiUsageRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "api_key", "method", "route", "status_code", "duration_ms"]
    list_filter = [StatusClassFilter, "method", "created_at", "api_key__organization"]
    search_fields = ["route", "api_key__id", "api_key__key_prefix", "api_key__organization__id"]
    list_select_related = ["api_key", "api_key__organization"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) over millions of rows on every page view is not worth it

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the retention task prunes; history is not edited by hand
