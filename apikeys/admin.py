from django.contrib import admin, messages

from apikeys import services
from apikeys.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "organization",
        "key_prefix",
        "scopes",
        "status",
        "last_used_at",
        "usage_count",
        "created_at",
    ]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["id", "name", "key_prefix", "organization__name", "organization__id"]
    list_select_related = ["organization"]
    # key_hash is deliberately absent: the verifier is never displayed.
    fields = [
        "id",
        "organization",
        "name",
        "key_prefix",
        "scopes",
        "rate_limit",
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

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the history stays

    def has_revoke_permission(self, request):
        return request.user.has_perm("apikeys.revoke_apikey")

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            services.apikey_revoke(key=key, actor=request.user)
            count += 1
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)
