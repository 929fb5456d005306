from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from api.ids import PrefixedIdField
from api.versions import latest_version
from organizations.roles import Role

_render_qualities: tuple[str, ...] = ()


def render_qualities() -> tuple[str, ...]:
    """The names an organization's defaultRenderQuality may take: tryons.qualities declares the qualities and
    registers their names here when tryons is ready (organizations sits below tryons and cannot import it)."""
    return _render_qualities


def render_qualities_register(names: tuple[str, ...]) -> None:
    global _render_qualities
    _render_qualities = tuple(names)


# lowBalanceThreshold: credits at or below which billingEmail and the credits.low webhook are told, once.
# reusedRenderPrice: the share of the per-render price a render reused from an identical earlier one costs
# (tryons.reuse); 0, the default: partners never pay twice for the same image.
DEFAULT_ORGANIZATION_SETTINGS = {
    "webhookRetries": 3,
    "defaultRenderQuality": "hd",
    "lowBalanceThreshold": 20,
    "reusedRenderPrice": 0,
}


# One cent of a credit: balances, prices and thresholds have two decimals.
CENT = Decimal("0.01")


def credits_number(value: Decimal) -> int | float:
    """Credits as a JSON number, the one rule for the API, webhooks and error details: 4 (not 4.0 or
    "4.00"), 3.6 stays 3.6. Balances have two decimals, which a float renders exactly as typed."""
    return int(value) if value == value.to_integral_value() else float(value)


class Organization(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    id = PrefixedIdField(prefix="org")
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True)
    billing_email = models.EmailField(blank=True)
    settings = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    # The API version (api/versions.py) its requests are answered in without a Garmax-Version header: the
    # newest when it was created, so a later version never changes what an existing integration receives.
    api_version = models.CharField(max_length=10, default=latest_version)
    # Denormalized sum of the ledger; only organizations.services changes it, under a row lock.
    credits = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    # Set when a charge took the balance to or below lowBalanceThreshold (the alert went out); cleared,
    # re-arming the alert, only when a top-up lifts the balance above it again.
    low_balance_alerted_at = models.DateTimeField(null=True, blank=True)
    # Set on a sandbox: the test-mode twin of this live organization. Test keys act as the sandbox, so
    # every tenant-scoped query (customers, try-ons, webhooks, the ledger) separates the modes unchanged.
    sandbox_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="sandbox", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("add_credits", "Can add credits to an organization")]
        constraints = [
            models.CheckConstraint(condition=Q(credits__gte=0), name="organization_credits_non_negative")
        ]

    def __str__(self):
        # The staff console's selects, titles and search results: a sandbox reads apart from its live twin.
        return f"{self.name} ({self.id})" if self.livemode else f"{self.name} (test mode, {self.id})"

    @property
    @admin.display(description="Name", ordering="name")
    def display_name(self) -> str:
        """The name staff read in the console; partners read `name`, the same in both modes."""
        return self.name if self.livemode else f"{self.name} (test mode)"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def livemode(self) -> bool:
        return self.sandbox_of_id is None

    @property
    def webhook_retries(self) -> int:
        return int(self.settings.get("webhookRetries", DEFAULT_ORGANIZATION_SETTINGS["webhookRetries"]))

    @property
    def low_balance_threshold(self) -> Decimal:
        default = DEFAULT_ORGANIZATION_SETTINGS["lowBalanceThreshold"]
        return Decimal(str(self.settings.get("lowBalanceThreshold", default)))

    @property
    def reused_render_price(self) -> Decimal:
        default = DEFAULT_ORGANIZATION_SETTINGS["reusedRenderPrice"]
        return Decimal(str(self.settings.get("reusedRenderPrice", default)))

    @property
    def default_render_quality(self) -> str:
        return self.settings.get(
            "defaultRenderQuality", DEFAULT_ORGANIZATION_SETTINGS["defaultRenderQuality"]
        )


class Membership(models.Model):
    """A user's place in an organization: their role says what they may do (organizations.roles)."""

    Role = models.TextChoices("Role", [(role.name, role.value) for role in Role])

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user")
        ]

    def __str__(self):
        return f"{self.user} → {self.organization_id} ({self.role})"


class CreditLedgerEntry(models.Model):
    """One balance change. Rows are only ever inserted; the organization's balance is their sum."""

    class Kind(models.TextChoices):
        GRANT = "grant"
        TOP_UP = "top_up"
        CHARGE = "charge"
        REFUND = "refund"
        ADJUSTMENT = "adjustment"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # Signed: positive adds credits, negative removes them.
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    balance_after = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(10**12)],
    )
    # What caused it (e.g. a cart session id); charges and refunds are unique per reference.
    reference = models.CharField(max_length=120, blank=True)
    description = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit ledger entries"
        # The ledger list and the usage endpoint's credits per period (organization, a time range).
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="ledger_org_list")]
        constraints = [
            # The last line of defence against double charges and double refunds (retries, crashed workers).
            models.UniqueConstraint(
                fields=["organization", "kind", "reference"],
                condition=~Q(reference=""),
                name="ledger_reference_once_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="ledger_balance_after_non_negative"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount} ({self.organization_id})"


class Invitation(models.Model):
    """An invitation to join an organization with a role, sent by email (`inv_...`).

    Its token is shown only in the email; we keep its SHA-256. Single use: accepting stamps it, and an
    expired, accepted or revoked invitation accepts nothing."""

    id = PrefixedIdField(prefix="inv")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="invitation_list")]

    def __str__(self):
        return f"{self.email} → {self.organization_id} ({self.role})"


class MemberEvent(models.Model):
    """The team's audit trail: who added, invited, changed or removed whom, and ownership transfers."""

    class Action(models.TextChoices):
        ADDED = "added"
        INVITED = "invited"
        INVITATION_ACCEPTED = "invitation_accepted"
        INVITATION_REVOKED = "invitation_revoked"
        ROLE_CHANGED = "role_changed"
        REMOVED = "removed"
        LEFT = "left"
        OWNERSHIP_TRANSFERRED = "ownership_transferred"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="member_events")
    action = models.CharField(max_length=30, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who it was about, by email: it stays readable after the user is gone.
    subject_email = models.CharField(max_length=254, blank=True)
    role_before = models.CharField(max_length=10, blank=True)
    role_after = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="member_event_list")]

    def __str__(self):
        return f"{self.organization_id}: {self.action} {self.subject_email}"


class SignupRequest(models.Model):
    """A new partner on the way in without our staff (README, "Signup"), `sgn_...`.

    `verification` (PARTNER_SIGNUP=open): someone asked for an account; the verified email creates the user
    (with the password hash kept here, never the password) and the organization. `invitation`
    (PARTNER_SIGNUP=invite): staff invited this email; the token, which proves it, creates both at once.
    The token is only in the email; we keep its SHA-256. Single use: `used_at` is stamped by one
    conditional UPDATE, and an expired or used request creates nothing."""

    class Kind(models.TextChoices):
        VERIFICATION = "verification"
        INVITATION = "invitation"

    id = PrefixedIdField(prefix="sgn")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    email = models.EmailField()  # normalized: trimmed, domain lowercased
    organization_name = models.CharField(max_length=200, blank=True)
    password_hash = models.CharField(max_length=128, blank=True)  # Django's make_password()
    # Empty until the email task writes the token it sends (the token never travels through the broker).
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # What it created; kept when the user or organization is deleted later (SET_NULL).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"], name="signup_request_list")]

    def __str__(self):
        return f"{self.kind} {self.email}"


class PartnerInvitation(SignupRequest):
    """The admin's "Invite a partner" (PARTNER_SIGNUP=invite): the invitation kind of signup request."""

    class Meta:
        proxy = True
        verbose_name = "partner invitation"
