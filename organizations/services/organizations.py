"""Organizations: creation (with the signup grant), updates, membership and status."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from api.errors import Forbidden, ValidationError
from organizations.models import CreditLedgerEntry, Membership, Organization
from organizations.services.credits import user_can_add_credits
from organizations.services.ledger import ledger_apply
from organizations.services.organization_settings import organization_settings_clean
from organizations.signals import organization_api_version_changed, organization_status_changed

SIGNUP_GRANT_REFERENCE = "signup"


@transaction.atomic
def organization_create(
    *, owner, name: str, domain: str = "", billing_email: str = "", settings_: dict | None = None
) -> Organization:
    """Create an organization, make `owner` its owner and grant the signup credits, all or nothing.

    Signup credits are granted once per user, to their first organization only. A user owns at most
    MAX_ORGANIZATIONS_PER_USER organizations, and the owner of a suspended organization cannot create
    another (Forbidden). The owner's user row is locked first, so concurrent creates by one user queue:
    neither the cap nor the once-per-user grant can be raced. Billing staff onboarding partners are exempt
    from the cap and the once-per-user rule: they can add credits anyway, so there is nothing to farm.
    """
    get_user_model().objects.select_for_update().filter(pk=owner.pk).values_list("pk").first()
    billing_staff = user_can_add_credits(owner)
    if not billing_staff:
        _organization_create_check(owner=owner)
    grant = billing_staff or not (
        CreditLedgerEntry.objects.filter(
            kind=CreditLedgerEntry.Kind.GRANT, reference=SIGNUP_GRANT_REFERENCE, actor=owner
        ).exists()
    )
    organization = Organization.objects.create(
        name=name,
        domain=domain or "",
        billing_email=billing_email or "",
        settings=organization_settings_clean(settings_),
    )
    Membership.objects.create(organization=organization, user=owner, role=Membership.Role.OWNER)
    amount = Decimal(settings.SIGNUP_CREDIT_GRANT)
    if grant and amount > 0:
        ledger_apply(
            organization_id=organization.id,
            kind=CreditLedgerEntry.Kind.GRANT,
            amount=amount,
            reference=SIGNUP_GRANT_REFERENCE,
            description="Signup credit grant",
            actor=owner,
        )
        organization.refresh_from_db(fields=["credits"])
    return organization


def _organization_create_check(*, owner) -> None:
    owned = Membership.objects.filter(user=owner, role=Membership.Role.OWNER)
    if owned.filter(organization__status=Organization.Status.SUSPENDED).exists():
        raise Forbidden(
            "The owner of a suspended organization cannot create organizations. Contact GarmaxAI support."
        )
    limit = settings.MAX_ORGANIZATIONS_PER_USER
    if owned.count() >= limit:
        raise Forbidden(
            f"A user can own at most {limit} organizations.", details={"maxOrganizationsPerUser": limit}
        )


def organization_update(*, organization: Organization, data: dict) -> Organization:
    """Apply a PATCH: name, domain, billingEmail, apiVersion and a partial settings object merged over the
    current one."""
    fields = []
    for attr in ("name", "domain", "billing_email", "api_version"):
        if attr in data:
            setattr(organization, attr, data[attr] or "")
            fields.append(attr)
    if "settings" in data:
        organization.settings = organization_settings_clean(data["settings"], base=organization.settings)
        fields.append("settings")
    if fields:
        with transaction.atomic():
            organization.save(update_fields=[*fields, "updated_at"])
            if "api_version" in fields:
                transaction.on_commit(
                    lambda: organization_api_version_changed.send(Organization, organization=organization)
                )
            # The sandbox behaves like its organization: same name, same render and retry settings.
            Organization.objects.filter(sandbox_of=organization).update(
                name=organization.name, settings=organization.settings
            )
    return organization


def membership_for(*, user, organization_id: str) -> Membership | None:
    if not user or not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("organization")
        .filter(user=user, organization_id=organization_id)
        .first()
    )


def organization_set_status(*, organization: Organization, status: str, actor=None) -> Organization:
    """Suspend or reactivate an organization. A suspended organization's API keys fail on the next request
    (apikeys listens to `organization_status_changed`)."""
    if status not in Organization.Status.values:
        raise ValidationError(
            details={"status": [f"Must be one of {', '.join(Organization.Status.values)}."]}
        )
    # The sandbox follows: a suspended partner's test keys and test work stop too.
    Organization.objects.filter(Q(pk=organization.pk) | Q(sandbox_of=organization.pk)).update(status=status)
    organization.status = status
    # After the commit, so a rolled-back suspension never leaves keys blocked (and vice versa).
    transaction.on_commit(
        lambda: organization_status_changed.send(
            sender=Organization, organization=organization, status=status
        )
    )
    return organization
