from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from config.console import admin_link
from config.errors import ApiError
from organizations import services
from organizations.auth_views import StaffLoginForm
from organizations.models import CreditLedgerEntry, Membership, Organization

# Staff sign-ins to the admin are limited on failures like the token endpoint's (organizations.auth_views).
admin.site.login_form = StaffLoginForm


def _change_url(organization: Organization) -> str:
    # quote(): the admin escapes "_" in ids in its URLs ("org_4F…" would otherwise read as "orgO…").
    return reverse("admin:organizations_organization_change", args=[quote(organization.pk)])


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class LedgerInline(admin.TabularInline):
    """The ledger is append-only: shown here, changed only through the services."""

    model = CreditLedgerEntry
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at", "-id"]
    fields = ["created_at", "kind", "amount", "balance_after", "reference", "description", "actor"]
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AddCreditsForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), max_value=1_000_000
    )
    description = forms.CharField(max_length=255, required=False, initial="Credit purchase")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "status", "credits", "billing_email", "created_at"]
    list_display_links = ["name", "id"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "name", "domain", "billing_email"]
    readonly_fields = ["id", "credits", "created_at", "updated_at", "add_credits_link"]
    fields = [
        "id",
        "name",
        "domain",
        "billing_email",
        "settings",
        "status",
        "credits",
        "add_credits_link",
        "created_at",
        "updated_at",
    ]
    inlines = [MembershipInline, LedgerInline]
    actions = ["add_credits_action"]

    def get_urls(self):
        custom = [
            path(
                "<str:object_id>/add-credits/",
                self.admin_site.admin_view(self.add_credits_view),
                name="organizations_organization_add_credits",
            )
        ]
        return custom + super().get_urls()

    @admin.display(description="Add credits")
    def add_credits_link(self, obj):
        from django.utils.html import format_html

        if not obj.pk:
            return "-"
        url = reverse("admin:organizations_organization_add_credits", args=[obj.pk])
        return format_html('<a class="button" href="{}">Add credits…</a>', url)

    @admin.action(description="Add credits to the selected organization", permissions=["add_credits"])
    def add_credits_action(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one organization to add credits to.", messages.WARNING)
            return None
        return HttpResponseRedirect(
            reverse("admin:organizations_organization_add_credits", args=[queryset.get().pk])
        )

    def has_add_credits_permission(self, request):
        return services.user_can_add_credits(request.user)

    def add_credits_view(self, request, object_id):
        organization = get_object_or_404(Organization, pk=object_id)
        if not self.has_add_credits_permission(request):
            self.message_user(request, "Only billing staff can add credits.", messages.ERROR)
            return HttpResponseRedirect(_change_url(organization))
        form = AddCreditsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                # Same service as POST /api/organizations/{id}/credits: one path into the ledger.
                entry = services.credits_top_up(
                    organization=organization,
                    amount=form.cleaned_data["amount"],
                    description=form.cleaned_data["description"],
                    actor=request.user,
                )
            except ApiError as exc:
                form.add_error(None, exc.message)
            else:
                self.log_change(
                    request,
                    organization,
                    f"Added {entry.amount} credits ({entry.description}); balance {entry.balance_after}.",
                )
                self.message_user(
                    request,
                    f"Added {entry.amount} credits to {organization.name}; "
                    f"balance is now {entry.balance_after}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(_change_url(organization))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Add credits to {organization.name}",
            "organization": organization,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/organizations/add_credits.html", context)

    # The ledger is money history and PROTECTs its organization: offering Delete would only lead to an
    # error page. Every organization has at least its signup grant, so suspension is the way out.
    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.ledger_entries.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        organization = self.get_object(request, object_id)
        if organization is not None and organization.ledger_entries.exists():
            self.message_user(
                request,
                f"{organization.name} has credit history and cannot be deleted. "
                "Suspend it instead (set its status to suspended): its keys stop working and "
                "its ledger stays.",
                messages.ERROR,
            )
            return HttpResponseRedirect(_change_url(organization))
        return super().delete_view(request, object_id, extra_context)

    def save_model(self, request, obj, form, change):
        status_changed = change and "status" in form.changed_data
        new_status = obj.status
        if status_changed:
            obj.status = form.initial["status"]  # the service applies it, with its side effects
        super().save_model(request, obj, form, change)
        if status_changed:
            services.organization_set_status(organization=obj, status=new_status, actor=request.user)


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "organization_link",
        "kind",
        "amount",
        "balance_after",
        "description",
        "actor",
    ]
    list_display_links = ["id"]
    list_filter = ["kind", "created_at"]
    search_fields = ["organization__id", "organization__name", "reference", "description"]
    list_select_related = ["organization", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, entry):
        return admin_link(entry.organization, entry.organization.name)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "organization__name", "organization__id"]
    autocomplete_fields = ["user", "organization"]
