from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html

from api.admin_actions import admin_link
from customers import selectors, services
from customers.models import (
    Customer,
    CustomerExport,
    CustomerImport,
    CustomerImportError,
    PendingErasure,
    Photo,
)
from infrastructure.storage import storage_signed_url

# Thumbnails are fetched while the page is open; a short-lived link is all the console needs.
THUMBNAIL_URL_TTL_SECONDS = 600


def _thumbnail(storage_key: str | None, height: int = 64):
    if not storage_key:
        return "-"
    url = storage_signed_url(storage_key, ttl=THUMBNAIL_URL_TTL_SECONDS)
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" loading="lazy" '
        'style="height:{}px;max-width:{}px;object-fit:cover;border-radius:4px"></a>',
        url,
        url,
        height,
        height * 2,
    )


class PhotoInline(admin.TabularInline):
    """Photos are evidence of what the partner uploaded: shown, never edited here."""

    model = Photo
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-uploaded_at"]
    fields = [
        "thumbnail",
        "id",
        "storage_key",
        "content_type",
        "width",
        "height",
        "size_bytes",
        "uploaded_at",
    ]
    readonly_fields = fields

    @admin.display(description="Photo")
    def thumbnail(self, photo):
        return _thumbnail(photo.storage_key, height=96)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "latest_photo",
        "external_id",
        "id",
        "organization_link",
        "email",
        "photo_count",
        "created_at",
    ]
    list_display_links = ["external_id", "id"]
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["external_id", "email", "id"]
    list_select_related = ["organization"]
    readonly_fields = ["id", "organization", "external_id", "created_at", "updated_at"]
    fields = ["id", "organization", "external_id", "email", "name", "metadata", "created_at", "updated_at"]
    inlines = [PhotoInline]

    def get_queryset(self, request):
        customers = selectors.with_latest_photo_key(super().get_queryset(request))
        return customers.annotate(photos_total=Count("photos", distinct=True))

    @admin.display(description="Photo")
    def latest_photo(self, customer):
        return _thumbnail(customer.latest_photo_key)

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, customer):
        return admin_link(customer.organization, customer.organization.display_name)

    @admin.display(description="Photos", ordering="photos_total")
    def photo_count(self, customer):
        return customer.photos_total

    def has_add_permission(self, request):
        return False  # customers are created by partners through the API

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Photos cannot be deleted one by one, but they do leave with their customer (erased by the service).
        perms_needed.discard(Photo._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    # Deleting from the console is an erasure like DELETE /v1/customers/{externalId}: same service.
    def delete_model(self, request, obj):
        services.customer_delete(organization_id=obj.organization_id, external_id=obj.external_id)

    def delete_queryset(self, request, queryset):
        for customer in queryset:
            services.customer_delete(
                organization_id=customer.organization_id, external_id=customer.external_id
            )


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "id", "customer_link", "organization_link", "dimensions", "uploaded_at"]
    list_display_links = ["id"]
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter), "content_type", "uploaded_at"]
    search_fields = ["id", "storage_key", "customer__external_id", "customer__email"]
    list_select_related = ["customer", "organization"]
    readonly_fields = ["thumbnail_large"]

    @admin.display(description="Photo")
    def thumbnail(self, photo):
        return _thumbnail(photo.storage_key)

    @admin.display(description="Photo")
    def thumbnail_large(self, photo):
        return _thumbnail(photo.storage_key, height=320)

    @admin.display(description="Customer", ordering="customer__external_id")
    def customer_link(self, photo):
        return admin_link(photo.customer, photo.customer.external_id)

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, photo):
        return admin_link(photo.organization, photo.organization.display_name)

    @admin.display(description="Size")
    def dimensions(self, photo):
        return f"{photo.width}×{photo.height}, {photo.size_bytes // 1024} KB"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a photo leaves with its customer, through the erasure service


@admin.register(PendingErasure)
class PendingErasureAdmin(admin.ModelAdmin):
    """Objects whose deletion from storage failed and is being retried: an operator's to-watch list."""

    list_display = ["storage_key", "organization_id", "reason", "attempts", "last_error", "next_attempt_at"]
    search_fields = ["storage_key", "organization_id"]
    actions = ["retry_now"]

    @admin.action(description="Retry the selected erasures now", permissions=["change"])
    def retry_now(self, request, queryset):
        erasures = list(queryset)
        ids = [erasure.id for erasure in erasures]
        erased = services.pending_erasures_attempt(erasure_ids=ids)
        for erasure in erasures:
            self.log_change(request, erasure, "Retried the erasure now.")
        level = messages.SUCCESS if erased == len(ids) else messages.WARNING
        self.message_user(request, f"Erased {erased} of {len(ids)} objects.", level)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # removing a row would silently abandon an erasure

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


class _ReadOnlyJobAdmin(admin.ModelAdmin):
    """Bulk jobs are the record of what a partner ran: listed and inspected here, never edited."""

    list_filter = ["status", "format", ("organization", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["id", "organization__name", "organization__id"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, job):
        return admin_link(job.organization, job.organization.display_name)

    @admin.display(description="Progress")
    def progress(self, job):
        total = "?" if job.total_rows is None else job.total_rows
        return f"{job.processed_rows} / {total}"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the view permission shows the page read-only

    def has_delete_permission(self, request, obj=None):
        return False


class CustomerImportErrorInline(admin.TabularInline):
    model = CustomerImportError
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["row", "field", "message"]
    readonly_fields = fields
    ordering = ["row", "id"]

    def get_queryset(self, request):
        # An import may have tens of thousands of row errors; the first ones tell staff what went wrong.
        ids = super().get_queryset(request).order_by("row", "id").values("id")[:100]
        return super().get_queryset(request).filter(id__in=ids)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CustomerImport)
class CustomerImportAdmin(_ReadOnlyJobAdmin):
    list_display = [
        "id",
        "organization_link",
        "status",
        "format",
        "file_name",
        "progress",
        "created_count",
        "updated_count",
        "unchanged_count",
        "failed_count",
        "error_code",
        "created_at",
        "finished_at",
    ]
    inlines = [CustomerImportErrorInline]


@admin.register(CustomerExport)
class CustomerExportAdmin(_ReadOnlyJobAdmin):
    list_display = [
        "id",
        "organization_link",
        "status",
        "format",
        "progress",
        "error_code",
        "created_at",
        "finished_at",
        "expires_at",
    ]
