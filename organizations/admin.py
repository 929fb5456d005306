from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from config.console import admin_link
from config.errors import ApiError
from organizations import ledger_export, selectors, services
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
    # The reason is the ledger entry's description: every money change says why (invoice, deal, ...).
    description = forms.CharField(
        label="Reason", max_length=255, help_text="E.g. the invoice or order number. Shown to the partner."
    )


class AdjustCreditsForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("-1000000"),
        max_value=1_000_000,
        help_text="Positive for goodwill credits, negative for a correction (e.g. a chargeback).",
    )
    description = forms.CharField(
        label="Reason", max_length=255, help_text="Required. Recorded on the ledger entry and in the history."
    )

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("Must not be 0.")
        return amount


class LowBalanceFilter(admin.SimpleListFilter):
    title = "balance"
    parameter_name = "balance"

    def lookups(self, request, model_admin):
        return [("low", "At or below low-balance threshold")]

    def queryset(self, request, queryset):
        if self.value() == "low":
            low = selectors.organizations_low_on_credits().values("pk")
            return queryset.filter(pk__in=low)
        return queryset


class ModeFilter(admin.SimpleListFilter):
    title = "mode"
    parameter_name = "mode"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("test", "Test-mode sandbox")]

    def queryset(self, request, queryset):
        if self.value() in {"live", "test"}:
            return queryset.filter(sandbox_of__isnull=self.value() == "live")
        return queryset


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "livemode", "status", "credits", "billing_email", "created_at"]
    list_display_links = ["name", "id"]
    list_filter = [ModeFilter, "status", LowBalanceFilter, "created_at"]
    search_fields = ["id", "name", "domain", "billing_email"]
    readonly_fields = [
        "id",
        "sandbox_of",
        "credits",
        "low_balance_alerted_at",
        "created_at",
        "updated_at",
        "add_credits_link",
    ]
    fields = [
        "id",
        "sandbox_of",
        "name",
        "domain",
        "billing_email",
        "settings",
        "status",
        "credits",
        "low_balance_alerted_at",
        "add_credits_link",
        "created_at",
        "updated_at",
    ]
    inlines = [MembershipInline, LedgerInline]
    actions = ["add_credits_action"]

    @admin.display(description="Live", boolean=True)
    def livemode(self, organization):
        return organization.livemode

    def get_urls(self):
        custom = [
            path(
                "<str:object_id>/add-credits/",
                self.admin_site.admin_view(self.add_credits_view),
                name="organizations_organization_add_credits",
            ),
            path(
                "<str:object_id>/adjust-credits/",
                self.admin_site.admin_view(self.adjust_credits_view),
                name="organizations_organization_adjust_credits",
            ),
        ]
        return custom + super().get_urls()

    @admin.display(description="Credits")
    def add_credits_link(self, obj):
        if not obj.pk:
            return "-"
        links = [
            (reverse("admin:organizations_organization_add_credits", args=[quote(obj.pk)]), "Add credits…"),
            (reverse("admin:organizations_organization_adjust_credits", args=[quote(obj.pk)]), "Adjust…"),
            (
                reverse("admin:organizations_creditledgerentry_changelist")
                + f"?organization__id__exact={obj.pk}",
                "Ledger",
            ),
            (reverse("console:organization", args=[obj.pk]), "Overview"),
        ]
        return format_html_join(" ", '<a class="button" href="{}">{}</a>', links)

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
        return self._money_view(
            request,
            object_id,
            form_class=AddCreditsForm,
            verb="Add credits",
            # Same service as POST /api/organizations/{id}/credits: one path into the ledger.
            apply=lambda organization, data: services.credits_top_up(
                organization=organization,
                amount=data["amount"],
                description=data["description"],
                actor=request.user,
            ),
        )

    def adjust_credits_view(self, request, object_id):
        return self._money_view(
            request,
            object_id,
            form_class=AdjustCreditsForm,
            verb="Adjust credits",
            apply=lambda organization, data: services.credits_adjust(
                organization=organization,
                amount=data["amount"],
                description=data["description"],
                actor=request.user,
            ),
        )

    def _money_view(self, request, object_id, *, form_class, verb, apply):
        """A money form in two steps: the amount and reason, then a preview of the balance before and after
        that staff confirm. Only the confirmed post changes the balance; the service re-checks it under the
        row lock, so a balance that moved in between is refused rather than taken below zero."""
        organization = get_object_or_404(Organization, pk=unquote(object_id))
        if not self.has_add_credits_permission(request):
            self.message_user(request, "Only billing staff can change credits.", messages.ERROR)
            return HttpResponseRedirect(_change_url(organization))
        form = form_class(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            amount = form.cleaned_data["amount"]
            after = organization.credits + amount
            if after < 0:
                form.add_error(
                    "amount",
                    f"Would take the balance to {after}: the balance ({organization.credits}) "
                    "can never go below 0.",
                )
            elif request.POST.get("confirm") != "yes":
                preview = {"before": organization.credits, "amount": amount, "after": after}
            else:
                try:
                    entry = apply(organization, form.cleaned_data)
                except ApiError as exc:
                    form.add_error(None, exc.message)
                else:
                    before = entry.balance_after - entry.amount
                    change = (
                        f"{verb}: {entry.amount:+} credits (reason: {entry.description}); "
                        f"balance {before} → {entry.balance_after}. Ledger entry {entry.pk}."
                    )
                    self.log_change(request, organization, change)
                    self.message_user(request, f"{organization.name}: {change}", messages.SUCCESS)
                    return HttpResponseRedirect(_change_url(organization))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} — {organization.name}",
            "verb": verb,
            "organization": organization,
            "form": form,
            "preview": preview,
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
        organization = self.get_object(request, unquote(object_id))
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
    list_filter = [
        "kind",
        "created_at",
        ("actor", admin.RelatedOnlyFieldListFilter),
        ("organization", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["organization__id", "organization__name", "reference", "description"]
    list_select_related = ["organization", "actor"]
    date_hierarchy = "created_at"
    change_list_template = "admin/organizations/creditledgerentry/change_list.html"

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        return [
            path("export.<str:file_format>", export, name="organizations_creditledgerentry_export"),
            *super().get_urls(),
        ]

    def export_view(self, request, file_format):
        """The change list's rows, with its filters, search and date range, as a file."""
        if file_format not in ("csv", "xlsx") or not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        entries = changelist.get_queryset(request)
        if file_format == "csv":
            return ledger_export.ledger_csv_response(entries)
        return ledger_export.ledger_xlsx_response(entries)

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
