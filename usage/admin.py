from django.contrib import admin

from usage.models import RequestLogEntry


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


@admin.register(RequestLogEntry)
class RequestLogEntryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "request_id",
        "organization_id",
        "api_key_id",
        "method",
        "route",
        "status_code",
        "error_code",
        "duration_ms",
        "client_address",
    ]
    list_filter = [StatusClassFilter, "method", "created_at"]
    # Exact matches only: each has an index (a LIKE over millions of rows would scan every partition).
    search_fields = ["=request_id", "=organization__id", "=api_key_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) over millions of rows on every page view is not worth it

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the retention task prunes; history is not edited by hand
