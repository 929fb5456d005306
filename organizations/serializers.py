from rest_framework import serializers

from api import versions
from api.text import NameField, PlainTextField, refuse_control_characters
from organizations.credit_numbers import CreditsField
from organizations.models import (
    CENT,
    DEFAULT_ORGANIZATION_SETTINGS,
    CreditLedgerEntry,
    Organization,
    render_qualities,
)
from organizations.services import LOW_BALANCE_THRESHOLD_MAX

STAFF_ACTOR = "GarmaxAI staff"


class OrganizationSettingsSerializer(serializers.Serializer):
    webhookRetries = serializers.IntegerField(min_value=0, max_value=10, required=False)
    # Its choices are the qualities tryons registers once ready (see get_fields).
    defaultRenderQuality = serializers.ChoiceField(choices=[], required=False)
    lowBalanceThreshold = CreditsField(
        min_value=0,
        max_value=LOW_BALANCE_THRESHOLD_MAX,
        required=False,
        help_text="When a charge takes the balance to or below this many credits, billingEmail gets one "
        "email and a credits.low webhook is sent; re-armed when a top-up lifts the balance above it.",
    )

    reusedRenderPrice = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        min_value=0,
        max_value=1,
        coerce_to_string=False,
        required=False,
        help_text="The share of the per-render price a render reused from an identical earlier one costs "
        "(0 to 1; default 0: never pay twice for the same image).",
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["defaultRenderQuality"].choices = render_qualities()
        return fields

    def to_representation(self, instance):
        # Organizations created before a setting existed show its default, as the services apply it.
        return super().to_representation({**DEFAULT_ORGANIZATION_SETTINGS, **instance})


class OrganizationSerializer(serializers.ModelSerializer):
    name = NameField(max_length=200)  # as the model field would give, with the non-blank rule documented
    billingEmail = serializers.EmailField(
        source="billing_email", required=False, allow_blank=True, validators=[refuse_control_characters]
    )
    domain = PlainTextField(max_length=253, required=False, allow_blank=True)
    settings = OrganizationSettingsSerializer(required=False)
    credits = CreditsField(read_only=True)
    apiVersion = serializers.ChoiceField(
        source="api_version",
        choices=list(versions.KNOWN),
        required=False,
        help_text="The API version requests without a Garmax-Version header are answered in: the newest when "
        "the organization was created; only its owner changes it (/api/docs/changelog).",
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "domain",
            "billingEmail",
            "settings",
            "apiVersion",
            "credits",
            "status",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = ["id", "credits", "status"]

    def validate_name(self, value):
        if not value.strip():
            raise serializers.ValidationError("Must not be blank.")
        return value.strip()

    def to_internal_value(self, data):
        # Unknown settings keys are an error, not silently dropped: partners should learn of typos.
        if isinstance(data, dict) and isinstance(data.get("settings"), dict):
            unknown = set(data["settings"]) - set(OrganizationSettingsSerializer().fields)
            if unknown:
                raise serializers.ValidationError(
                    {"settings": [f"Unknown setting(s): {', '.join(sorted(unknown))}."]}
                )
        return super().to_internal_value(data)


class CreditTopUpSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=CENT, max_value=1_000_000)
    description = PlainTextField(max_length=255, required=False, allow_blank=True, default="")


class CreditLedgerEntrySerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="kind")
    amount = CreditsField()
    balanceAfter = CreditsField(source="balance_after")
    actor = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = CreditLedgerEntry
        fields = ["id", "type", "amount", "balanceAfter", "reference", "description", "actor", "createdAt"]

    def get_actor(self, entry) -> str | None:
        if not entry.actor_id:
            return None
        # Partners learn that GarmaxAI did it, never which employee: staff usernames are internal.
        if entry.actor.is_staff:
            return STAFF_ACTOR
        return entry.actor.get_username()


class TopUpResponseSerializer(serializers.Serializer):
    organizationId = serializers.CharField()
    credits = CreditsField()
    entry = CreditLedgerEntrySerializer()


class SandboxResetResponseSerializer(serializers.Serializer):
    organizationId = serializers.CharField()
    mode = serializers.ChoiceField(choices=["test"])
    credits = CreditsField(help_text="The sandbox balance after the reset.")
    entry = CreditLedgerEntrySerializer(allow_null=True, help_text="The adjustment; null if none was needed.")
