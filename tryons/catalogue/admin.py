"""The garment catalogue in the staff console: read-only (partners own their garments), for support."""

from django.contrib import admin

from tryons.catalogue.models import Garment


@admin.register(Garment)
class GarmentAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "product_id", "variant_id", "category", "status", "fetched_at"]
    list_filter = ["status", "category"]
    search_fields = ["id", "product_id", "organization__id", "organization__name"]
    list_select_related = ["organization"]
    readonly_fields = [field.name for field in Garment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
