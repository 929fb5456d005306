"""Webhook event data: built from the same fields as the REST answers (tryons.serializers.results), so the two
cannot drift."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from organizations.partner_ids import PartnerOrganizationIdField
from organizations.serializers import CreditsField
from tryons.models import CartTryOnSession
from tryons.representation import item_samples, item_status, look_garments
from tryons.serializers.items import CartItemResultSerializer
from tryons.serializers.results import (
    LookResultSerializer,
    TryOnSerializer,
    external_id_field,
)


class CartTryOnEventDataSerializer(serializers.ModelSerializer):
    """`data` of every cart_tryon.* event: the partner API reference's shape plus metadata, externalId and
    full items."""

    sessionId = serializers.CharField(source="id")
    cartId = serializers.CharField(source="cart_id")
    organizationId = PartnerOrganizationIdField(source="organization_id")
    externalId = external_id_field()
    itemCount = serializers.IntegerField(source="item_count")
    successCount = serializers.SerializerMethodField()
    failureCount = serializers.SerializerMethodField()
    creditsCharged = CreditsField(source="credits_charged")
    creditsRefunded = CreditsField(
        source="credits_refunded", help_text="Everything refunded on this session so far."
    )
    results = CartItemResultSerializer(source="items", many=True)
    looks = serializers.SerializerMethodField(help_text="The cart's looks, as its GET shows them.")
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)

    class Meta:
        model = CartTryOnSession
        fields = [
            "sessionId",
            "cartId",
            "organizationId",
            "externalId",
            "status",
            "itemCount",
            "successCount",
            "failureCount",
            "creditsCharged",
            "creditsRefunded",
            "metadata",
            "results",
            "looks",
            "completedAt",
            "cancelledAt",
        ]
        read_only_fields = fields

    @extend_schema_field(LookResultSerializer(many=True))
    def get_looks(self, session: CartTryOnSession) -> list[dict]:
        if not session.look_count:
            return []
        garments = look_garments(session.items.all())
        return [LookResultSerializer.write(look, garments) for look in session.looks.all()]

    def get_successCount(self, session: CartTryOnSession) -> int:
        return sum(1 for samples in item_samples(session.items.all()) if item_status(samples) == "completed")

    def get_failureCount(self, session: CartTryOnSession) -> int:
        return sum(1 for samples in item_samples(session.items.all()) if item_status(samples) == "failed")


class CancellationSerializer(serializers.Serializer):
    refundedCredits = CreditsField(help_text="Credits this cancellation returned to the balance.")
    refundedItemCount = serializers.IntegerField(
        help_text="Item renders cancelled and refunded, one per sample (numSamples): every one not rendered "
        "yet, one rendering then included."
    )
    itemStillRendering = serializers.BooleanField(
        help_text="An item was rendering when the session was cancelled: it is refunded with the others, and "
        "its result, if one comes, is dropped."
    )


class CartTryOnCancelledEventDataSerializer(CartTryOnEventDataSerializer):
    """`data` of cart_tryon.cancelled: the session as cancelled, and what the cancellation refunded."""

    cancellation = serializers.SerializerMethodField()

    class Meta(CartTryOnEventDataSerializer.Meta):
        fields = [*CartTryOnEventDataSerializer.Meta.fields, "cancellation"]
        read_only_fields = fields

    @extend_schema_field(CancellationSerializer)
    def get_cancellation(self, session: CartTryOnSession) -> dict:
        return CancellationSerializer(self.context["cancellation"]).data


class TryOnEventDataSerializer(TryOnSerializer):
    """`data` of tryon.completed / tryon.failed: the REST try-on under its event names."""

    tryonId = serializers.CharField(source="id")
    organizationId = PartnerOrganizationIdField(source="organization_id")

    class Meta(TryOnSerializer.Meta):
        fields = ["tryonId", "organizationId", *TryOnSerializer.Meta.fields[1:]]
        read_only_fields = fields
