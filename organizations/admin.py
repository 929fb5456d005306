import secrets

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from api.admin_actions import admin_link
from api.errors import ApiError
from organizations import ledger_export, selectors, services
from organizations.admin_money import (
    CONFIRMATION_BYTES,
    AddCreditsForm,
    AdjustCreditsForm,
    below_zero,
    confirmation_reference,
    money_change,
)
from organizations.auth_views import StaffLoginForm
from organizations.models import CreditLedgerEntry, MemberEvent, Membership, Organization

# Staff sign-ins to the admin are limited on failures like the token endpoint's (organizations.auth_views).
admin.site.login_form = StaffLoginForm


def _change_url(organization: Organization) -> str:
    # quote(): the admin escapes "_" in ids in its URLs ("org_4F…" would otherwise read as "orgO…").
    return reverse("admin:organizations_organization_change", args=[quote(organization.pk)])


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


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
    list_display = ["display_name", "id", "livemode", "status", "credits", "billing_email", "created_at"]
    list_display_links = ["display_name", "id"]
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
        "team_changes",
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
        "team_changes",
    ]
    # The ledger is not an inline: an inline form per entry made a busy organization's page post more than
    # Django's 1,000 fields (a 400 on Save and on suspension). It is shown read-only and paged below the
    # form (change_view), with the full list a link away.
    inlines = [MembershipInline]
    actions = ["add_credits_action"]
    # What Save writes. Money and alert state (credits, low_balance_alerted_at) change only through the ledger
    # services, under the organization's row lock: a whole-row save wrote back the balance read when the
    # POST began over every charge and refund committed meanwhile. Status goes through its service.
    editable_fields = ("name", "domain", "billing_email", "settings")
    ledger_page_size = 25

    @admin.display(description="Team changes (newest 20)")
    def team_changes(self, organization):
        """The team's audit trail (organizations.services.members), read-only: shown, never a formset."""
        events = MemberEvent.objects.filter(organization=organization).select_related("actor")[:20]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td></tr>",
            (
                (e.created_at.strftime("%Y-%m-%d %H:%M"), e.action, e.actor or "", e.subject_email,
                 e.role_before or "–", e.role_after or "–")
                for e in events
            ),
        )  # fmt: skip
        return format_html("<table>{}</table>", rows) if events else "–"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        entries = CreditLedgerEntry.objects.filter(organization_id=unquote(object_id)).select_related("actor")
        ledger_url = (
            reverse("admin:organizations_creditledgerentry_changelist")
            + f"?organization__id__exact={unquote(object_id)}"
        )
        extra_context = {
            **(extra_context or {}),
            "ledger_page": Paginator(entries, self.ledger_page_size).get_page(request.GET.get("ledger_page")),
            "ledger_url": ledger_url,
        }
        return super().change_view(request, object_id, form_url, extra_context)

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
            kind=CreditLedgerEntry.Kind.TOP_UP,
            verb="Add credits",
            # Same service as POST /api/organizations/{id}/credits: one path into the ledger.
            apply=lambda organization, data, reference: services.credits_top_up(
                organization=organization,
                amount=data["amount"],
                description=data["description"],
                actor=request.user,
                reference=reference,
            ),
        )

    def adjust_credits_view(self, request, object_id):
        return self._money_view(
            request,
            object_id,
            form_class=AdjustCreditsForm,
            kind=CreditLedgerEntry.Kind.ADJUSTMENT,
            verb="Adjust credits",
            apply=lambda organization, data, reference: services.credits_adjust(
                organization=organization,
                amount=data["amount"],
                description=data["description"],
                actor=request.user,
                reference=reference,
            ),
        )

    def _money_view(self, request, object_id, *, form_class, kind, verb, apply):
        """A money form in two steps: the amount and reason, then a preview of the balance before and after
        that staff confirm. Only the confirmed post changes the balance; the service re-checks it under the
        row lock, so a balance that moved in between is refused rather than taken below zero.

        Each preview carries a one-time confirmation, recorded as the ledger entry's reference: the ledger's
        uniqueness makes a confirmation change the balance once, whether it is posted twice at once (a double
        click, two tabs) or resubmitted later; every repeat shows the first result."""
        organization = get_object_or_404(Organization, pk=unquote(object_id))
        if not self.has_add_credits_permission(request):
            self.message_user(request, "Only billing staff can change credits.", messages.ERROR)
            return HttpResponseRedirect(_change_url(organization))
        form = form_class(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            reference = confirmation_reference(request.POST.get("confirmation", ""))
            if request.POST.get("confirm") == "yes" and reference:
                confirmed = self._money_confirm(
                    request, organization, form, kind=kind, verb=verb, reference=reference, apply=apply
                )
                if confirmed is not None:
                    return confirmed
            else:
                # A confirm without a confirmation (an old form) is shown as a preview to confirm again.
                amount = form.cleaned_data["amount"]
                after = organization.credits + amount
                if after < 0:
                    form.add_error("amount", below_zero(after, organization.credits))
                else:
                    preview = {
                        "before": organization.credits,
                        "amount": amount,
                        "after": after,
                        "confirmation": secrets.token_urlsafe(CONFIRMATION_BYTES),
                    }
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} — {organization.display_name}",
            "verb": verb,
            "organization": organization,
            "form": form,
            "preview": preview,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/organizations/add_credits.html", context)

    def _money_confirm(self, request, organization, form, *, kind, verb, reference, apply):
        """Apply a confirmed money form once; the redirect to the organization, or None to show the form's
        errors."""
        with transaction.atomic():
            # Confirms of one preview queue on the organization's row lock, so exactly one finds no entry
            # under its reference and applies it; the ledger's unique reference backs that up.
            locked = (
                Organization.objects.select_for_update(no_key=True).only("credits").get(pk=organization.pk)
            )
            earlier = CreditLedgerEntry.objects.filter(
                organization_id=organization.pk, kind=kind, reference=reference
            ).first()
            if earlier is not None:
                self.message_user(
                    request,
                    f"{organization.display_name}: this confirmation was already applied, "
                    f"nothing changed now. {money_change(verb, earlier)}",
                    messages.WARNING,
                )
                return HttpResponseRedirect(_change_url(organization))
            after = locked.credits + form.cleaned_data["amount"]
            if after < 0:
                form.add_error("amount", below_zero(after, locked.credits))
                return None
            try:
                entry = apply(organization, form.cleaned_data, reference)
            except ApiError as exc:
                form.add_error(None, exc.message)
                return None
            change = money_change(verb, entry)
            self.log_change(request, organization, change)
        self.message_user(request, f"{organization.display_name}: {change}", messages.SUCCESS)
        return HttpResponseRedirect(_change_url(organization))

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
                f"{organization.display_name} has credit history and cannot be deleted. "
                "Suspend it instead (set its status to suspended): its keys stop working and "
                "its ledger stays.",
                messages.ERROR,
            )
            return HttpResponseRedirect(_change_url(organization))
        return super().delete_view(request, object_id, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)  # a new row: no balance to overwrite yet
            return
        changed = [name for name in self.editable_fields if name in form.changed_data]
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])
        if "status" in form.changed_data:
            # The service applies it with its side effects (keys blocked, the sandbox follows).
            services.organization_set_status(organization=obj, status=obj.status, actor=request.user)


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
        return admin_link(entry.organization, entry.organization.display_name)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "organization__name", "organization__id"]
    autocomplete_fields = ["user", "organization"]
