from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.conditional import CONDITIONAL_DESCRIPTION, IF_NONE_MATCH, row_conditional
from api.errors import ValidationError
from api.events import event_names
from api.pagination import PAGE_OPENAPI_PARAMETERS
from apikeys.partner import PartnerAPIMixin
from apikeys.scopes import WEBHOOKS_MANAGE
from webhooks import selectors, services
from webhooks.events import WEBHOOK_TEST
from webhooks.models import Webhook, WebhookDelivery
from webhooks.openapi import event_catalogue
from webhooks.serializers import (
    EventCatalogueSerializer,
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookDeliveryPageSerializer,
    WebhookDeliverySerializer,
    WebhookRecoverResultSerializer,
    WebhookRecoverSerializer,
    WebhookRotatedSerializer,
    WebhookSerializer,
    WebhookTestResultSerializer,
    WebhookUpdateSerializer,
)

WEBHOOK_ID = OpenApiParameter("webhookId", str, OpenApiParameter.PATH, description="The webhook's id.")
DELIVERY_ID = OpenApiParameter("deliveryId", str, OpenApiParameter.PATH, description="The delivery's id.")


@extend_schema(tags=["Webhooks"])
class WebhookViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    """The key's organization's webhook endpoints, their delivery log and recovery tools."""

    operation_resource = "webhooks"

    required_scopes = dict.fromkeys(
        [
            "list",
            "create",
            "retrieve",
            "partial_update",
            "destroy",
            "test",
            "deliveries",
            "redeliver",
            "recover",
            "rotate_secret",
        ],
        WEBHOOKS_MANAGE,
    )
    serializer_class = WebhookSerializer
    queryset = Webhook.objects.none()
    lookup_url_kwarg = "webhookId"

    def _webhook(self) -> Webhook:
        return selectors.webhook_get(
            organization_id=self.organization_id, webhook_id=self.kwargs["webhookId"]
        )

    @extend_schema(
        summary="Create a webhook (the secret is shown once)",
        description="`retryPolicy` sets this endpoint's retries (default: the organization's 5 s, 15 s, "
        "45 s); `headers` are sent with every delivery (their values are never shown again); `metadata` is "
        "yours. A receiver answering `webhook-delivery: abort-message` stops the retries of that message.",
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer},
    )
    def create(self, request):
        serializer = WebhookCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        webhook = services.webhook_create(
            organization_id=self.organization_id,
            url=data["url"],
            events=data["events"],
            description=data["description"],
            retry_policy=data.get("retryPolicy"),
            metadata=data.get("metadata"),
            headers=data.get("headers"),
        )
        return Response(WebhookCreatedSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="List webhooks")
    def list(self, request):
        page = self.paginate_queryset(selectors.webhook_list(organization_id=self.organization_id))
        return self.get_paginated_response(WebhookSerializer(page, many=True).data)

    @extend_schema(
        summary="Get a webhook",
        description=CONDITIONAL_DESCRIPTION,
        parameters=[WEBHOOK_ID, IF_NONE_MATCH],
        responses={200: WebhookSerializer, 304: None},
    )
    def retrieve(self, request, webhookId=None):
        webhook = self._webhook()
        # Its retry policy may be the organization's: that setting is part of what the answer says.
        return row_conditional(
            request,
            rows=(webhook, webhook.organization.webhook_retries),
            render=lambda: Response(WebhookSerializer(webhook).data),
        )

    @extend_schema(
        summary="Update a webhook",
        parameters=[WEBHOOK_ID],
        description="`isActive: true` re-enables a disabled endpoint and resets its failure count. "
        "`retryPolicy: null` returns to the organization's policy; `headers` are merged into the current "
        "ones (a null value removes one); `metadata` is replaced whole.",
        request=WebhookUpdateSerializer,
        responses={200: WebhookSerializer},
    )
    def partial_update(self, request, webhookId=None):
        webhook = self._webhook()
        serializer = WebhookUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        webhook = services.webhook_update(
            webhook=webhook,
            url=data.get("url"),
            events=data.get("events"),
            description=data.get("description"),
            is_active=data.get("isActive"),
            **{
                field: data[name]
                for name, field in (
                    ("retryPolicy", "retry_policy"),
                    ("metadata", "metadata"),
                    ("headers", "headers"),
                )
                if name in data
            },
        )
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(
        summary="Delete a webhook and its delivery log", parameters=[WEBHOOK_ID], responses={204: None}
    )
    def destroy(self, request, webhookId=None):
        services.webhook_delete(webhook=self._webhook())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Send a signed test event now",
        parameters=[WEBHOOK_ID],
        description=(
            "POSTs a `webhook.test` event to the endpoint once, synchronously, signed like every "
            "delivery; returns whether it was delivered, the status code and the duration."
        ),
        request=None,
        responses={200: WebhookTestResultSerializer},
    )
    def test(self, request, webhookId=None):
        attempt = services.webhook_test_send(webhook=self._webhook())
        return Response(
            {
                "delivered": attempt.succeeded,
                "statusCode": attempt.status_code,
                "durationMs": attempt.duration_ms,
                "error": attempt.error or None,
                "deliveryId": attempt.delivery_id,
                "eventId": attempt.delivery.event_id,
            }
        )

    @extend_schema(
        operation_id="webhookDeliveries_list",  # a cursor page: the derivation would read one object
        summary="List a webhook's deliveries with their attempts",
        parameters=[
            WEBHOOK_ID,
            OpenApiParameter("status", str, enum=[*WebhookDelivery.Status.values]),
            OpenApiParameter("event", str, enum=event_names()),
            *PAGE_OPENAPI_PARAMETERS,
        ],
        responses={200: WebhookDeliveryPageSerializer},
    )
    def deliveries(self, request, webhookId=None):
        webhook = self._webhook()
        wanted_status = request.query_params.get("status")
        if wanted_status and wanted_status not in WebhookDelivery.Status.values:
            raise ValidationError(
                details={"status": [f"Must be one of {', '.join(WebhookDelivery.Status.values)}."]}
            )
        wanted_event = request.query_params.get("event")
        if wanted_event and wanted_event not in event_names():
            raise ValidationError(details={"event": [f"Must be one of {', '.join(event_names())}."]})
        queryset = selectors.webhook_deliveries(webhook=webhook, status=wanted_status, event=wanted_event)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Redeliver one delivery's event",
        description="Queues the same event (same `webhook-id`) as a new delivery with fresh retries.",
        parameters=[WEBHOOK_ID, DELIVERY_ID],
        request=None,
        responses={202: WebhookDeliverySerializer},
    )
    def redeliver(self, request, webhookId=None, deliveryId=None):
        webhook = self._webhook()
        delivery = selectors.webhook_delivery_get(webhook=webhook, delivery_id=deliveryId)
        again = services.webhook_delivery_redeliver(delivery=delivery)
        again = selectors.webhook_deliveries(webhook=webhook).get(pk=again.pk)
        return Response(WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Re-send failed deliveries since a time",
        parameters=[WEBHOOK_ID],
        description=(
            "Every event whose delivery to this endpoint failed at or after `since`, and that has not "
            "been delivered since, is queued once more."
        ),
        request=WebhookRecoverSerializer,
        responses={202: WebhookRecoverResultSerializer},
    )
    def recover(self, request, webhookId=None):
        webhook = self._webhook()
        serializer = WebhookRecoverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.webhook_recover(webhook=webhook, since=serializer.validated_data["since"])
        return Response(
            {"recovered": len(created), "deliveryIds": [d.pk for d in created]},
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        summary="Rotate the signing secret",
        parameters=[WEBHOOK_ID],
        description="Returns the new secret once; the old one keeps signing alongside it for 24 hours.",
        request=None,
        responses={200: WebhookRotatedSerializer},
    )
    def rotate_secret(self, request, webhookId=None):
        webhook = services.webhook_rotate_secret(webhook=self._webhook())
        return Response(WebhookRotatedSerializer(webhook).data)


class EventCatalogueView(APIView):
    """Public, like the OpenAPI document its schemas come from."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["Docs"],
        summary="Every webhook event type, with the JSON Schema of its body and an example",
        description=(
            "The schemas are generated from the serializers that build the payloads, the same ones the "
            "OpenAPI document lists under `x-webhooks`."
        ),
        responses={200: EventCatalogueSerializer},
        examples=[
            OpenApiExample(
                "Events",
                value={
                    "events": [
                        {
                            "event": WEBHOOK_TEST.name,
                            "description": "Sent on request by POST /v1/webhooks/{webhookId}/test.",
                            "subscribable": False,
                            "schema": {"type": "object", "required": ["id", "event", "timestamp", "data"]},
                            "example": {
                                "id": "evt_abc123",
                                "event": WEBHOOK_TEST.name,
                                "timestamp": "2025-12-11T10:05:00Z",
                                "data": {"webhookId": "webhook_abc", "organizationId": "org_abc123"},
                            },
                        }
                    ]
                },
                response_only=True,
            )
        ],
        auth=[],
    )
    def get(self, request):
        return Response({"events": event_catalogue()})
