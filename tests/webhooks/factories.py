from django.db import transaction

from api.events import subscribable_event_names
from tryons.events import CART_TRYON_COMPLETED
from webhooks import services, tasks
from webhooks.models import WebhookDelivery


def make_webhook(organization, url, events=None, **kwargs):
    """An endpoint created through the real service (URL rules included), subscribed to every event unless
    `events` says otherwise."""
    return services.webhook_create(
        organization_id=organization.id,
        url=url,
        events=list(subscribable_event_names() if events is None else events),
        description=kwargs.get("description", ""),
    )


def cart_completed_data(organization, session_id="cts_test"):
    return {
        "sessionId": session_id,
        "cartId": "cart_1",
        "organizationId": organization.id,
        "status": "completed",
        "itemCount": 1,
        "successCount": 1,
        "failureCount": 0,
        "results": [
            {"productId": "p1", "variantId": "v1", "status": "completed", "resultUrl": "https://x/1.jpg"}
        ],
    }


def cart_completed_delivered_once(organization) -> WebhookDelivery:
    """Record a cart_tryon.completed event as the pipeline does and run its first delivery attempt."""
    with transaction.atomic():
        event = services.webhook_event_record(
            organization_id=organization.id,
            event=CART_TRYON_COMPLETED.name,
            data=cart_completed_data(organization),
        )
    delivery = WebhookDelivery.objects.get(event=event)
    tasks.deliver_endpoint(delivery.webhook_id)
    delivery.refresh_from_db()
    return delivery
