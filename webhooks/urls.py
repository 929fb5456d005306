from django.urls import path

from api.docs_views import undocumented
from webhooks.views import EventCatalogueView, WebhookViewSet

urlpatterns = [
    path("docs/events", EventCatalogueView.as_view(), name="docs-events"),
    # seed 003's path for the same catalogue (documented once, at docs/events)
    path("v1/docs/events", undocumented(EventCatalogueView).as_view(), name="v1-docs-events"),
    path("v1/webhooks", WebhookViewSet.as_view({"get": "list", "post": "create"}), name="webhooks"),
    path(
        "v1/webhooks/<str:webhookId>",
        WebhookViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="webhook-detail",
    ),
    path("v1/webhooks/<str:webhookId>/test", WebhookViewSet.as_view({"post": "test"}), name="webhook-test"),
    path(
        "v1/webhooks/<str:webhookId>/deliveries",
        WebhookViewSet.as_view({"get": "deliveries"}),
        name="webhook-deliveries",
    ),
    path(
        "v1/webhooks/<str:webhookId>/deliveries/<str:deliveryId>/redeliver",
        WebhookViewSet.as_view({"post": "redeliver"}),
        name="webhook-redeliver",
    ),
    path(
        "v1/webhooks/<str:webhookId>/recover",
        WebhookViewSet.as_view({"post": "recover"}),
        name="webhook-recover",
    ),
    path(
        "v1/webhooks/<str:webhookId>/rotate-secret",
        WebhookViewSet.as_view({"post": "rotate_secret"}),
        name="webhook-rotate-secret",
    ),
]
