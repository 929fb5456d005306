from webhooks import services
from webhooks.models import SUBSCRIBABLE_EVENTS


def make_webhook(organization, url, events=SUBSCRIBABLE_EVENTS, **kwargs):
    """An endpoint created through the real service (URL rules included)."""
    return services.webhook_create(
        organization_id=organization.id,
        url=url,
        events=list(events),
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
