"""Signup in the staff admin (README, "Signup"): pending signups, read-only, and "Invite a partner".

Registered from OrganizationsConfig.ready (organizations/admin.py is the organization's console).
"""

from django import forms
from django.contrib import admin
from django.utils import timezone

from api.errors import ApiError
from organizations.models import PartnerInvitation, SignupRequest
from organizations.services import signup


class _StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("used", "Used"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "pending":
            return queryset.filter(used_at__isnull=True, expires_at__gt=now)
        if self.value() == "used":
            return queryset.filter(used_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(used_at__isnull=True, expires_at__lte=now)
        return queryset


def _status(request: SignupRequest) -> str:
    if request.used_at:
        return "used"
    return "expired" if request.expires_at <= timezone.now() else "pending"


class _ReadOnly(admin.ModelAdmin):
    list_display = ["email", "kind", "organization_name", "status", "created_at", "expires_at", "used_at"]
    list_filter = [_StatusFilter, "kind", "created_at"]
    search_fields = ["email", "organization_name"]
    # Never the token's or the password's hash.
    fields = ["id", "kind", "email", "organization_name", "invited_by", "created_at", "expires_at",
              "used_at", "user", "organization"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Status")
    def status(self, request: SignupRequest) -> str:
        return _status(request)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invited_by", "user", "organization")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SignupRequest)
class SignupRequestAdmin(_ReadOnly):
    """Every signup request and partner invitation; pending ones first filter."""

    def has_add_permission(self, request):
        return False


class PartnerInvitationForm(forms.ModelForm):
    class Meta:
        model = PartnerInvitation
        fields = ["email"]
        help_texts = {"email": "We email a single-use link valid for 7 days that creates their organization."}

    def clean_email(self):
        email = self.cleaned_data["email"]
        try:
            signup.partner_invitation_check(email=email)
        except ApiError as exc:  # closed signup, or the email already has an account
            raise forms.ValidationError(exc.message) from None
        return email


@admin.register(PartnerInvitation)
class PartnerInvitationAdmin(_ReadOnly):
    """ "Invite a partner" (PARTNER_SIGNUP=invite or open) through the one service the API's twin uses."""

    form = PartnerInvitationForm

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=SignupRequest.Kind.INVITATION)

    def get_fields(self, request, obj=None):
        return ["email"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        created = signup.partner_invitation_create(email=form.cleaned_data["email"], actor=request.user)
        obj.pk, obj.email, obj.kind, obj.expires_at = (
            created.pk,
            created.email,
            created.kind,
            created.expires_at,
        )
        obj._state.adding = False
