from django.contrib import admin, messages
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils import timezone

from api.admin_actions import action_confirm, admin_link
from apikeys import services
from apikeys.models import ApiKey, ApiKeyEvent


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


class ApiKeyEventInline(admin.TabularInline):
    """The key's audit trail (created, updated, rolled, revoked, expired), newest first; read-only."""

    model = ApiKeyEvent
    fields = ["created_at", "kind", "actor", "changes"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # What support looks for at a glance; expiry, creator and usage count are on the key's page.
    list_display = [
        "key_prefix",
        "name",
        "organization_link",
        "mode",
        "status",
        "scopes",
        "effective_rate_limit",
        "last_used_at",
    ]
    list_display_links = ["key_prefix"]
    list_filter = [StatusFilter, "mode", "organization", "created_at", "last_used_at"]
    search_fields = ["id", "name", "key_prefix", "organization__name", "organization__id"]
    list_select_related = ["organization"]
    # key_hash is deliberately absent: the verifier is never displayed.
    fields = [
        "id",
        "organization",
        "mode",
        "name",
        "key_prefix",
        "scopes",
        "effective_rate_limit",
        "endpoint_limits",
        "expires_at",
        "replaced_by",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
        "last_used_at",
        "usage_count",
    ]
    readonly_fields = fields
    inlines = [ApiKeyEventInline]
    actions = ["revoke_selected", "roll_selected"]

    def has_add_permission(self, request):
        return False  # keys are created through the API, where the secret can be shown once

    def has_change_permission(self, request, obj=None):
        return False  # nothing here is editable; revoking goes through the action

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the history stays

    def has_revoke_permission(self, request):
        return request.user.has_perm("apikeys.revoke_apikey")

    def has_roll_permission(self, request):
        return request.user.has_perm("apikeys.roll_apikey")

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, key):
        return admin_link(key.organization, key.organization.display_name)

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

    @admin.action(description="Roll selected keys (old keys work 24 more hours)…", permissions=["roll"])
    def roll_selected(self, request, queryset):
        now = timezone.now()
        rollable = queryset.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now),
            revoked_at__isnull=True,
            replaced_by__isnull=True,
        ).select_related("organization")
        if not rollable.exists():
            self.message_user(request, "None of the selected keys can be rolled.", messages.WARNING)
            return None
        rolled = []
        response = action_confirm(
            self,
            request,
            rollable,
            action="roll_selected",
            title="Roll API keys",
            consequence=(
                "Each key gets a replacement with the same name, mode, scopes and limits, shown once on the "
                "next page. The old keys keep working for 24 hours, then stop."
            ),
            button="Yes, roll these keys",
            act=lambda keys: rolled.extend(self._roll(request, keys)),
        )
        if response is not None:
            return response
        # The new secrets are shown on this response only: never stored in messages or the session.
        context = {**self.admin_site.each_context(request), "title": "New API keys", "rolled": rolled}
        context["opts"] = self.model._meta
        return TemplateResponse(request, "admin/apikeys/rolled_keys.html", context)

    def _roll(self, request, keys):
        for key in keys:
            new, raw_key = services.apikey_roll(key=key, actor=request.user)
            key.refresh_from_db(fields=["expires_at"])
            self.log_change(request, key, f"Rolled the key; replaced by {new.id}.")
            yield key, new, raw_key

    def _revoke(self, request, keys):
        count = 0
        for key in keys:
            services.apikey_revoke(key=key, actor=request.user)
            self.log_change(request, key, "Revoked the key.")
            count += 1
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


@admin.register(ApiKeyEvent)
class ApiKeyEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "api_key", "kind", "actor"]
    list_filter = ["kind", "created_at"]
    search_fields = ["api_key__id", "api_key__key_prefix", "api_key__organization__id"]
    list_select_related = ["api_key", "actor"]
    fields = ["api_key", "kind", "actor", "changes", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # an audit trail
