"""The catalogues a partner integrates against, read from where each is declared: the webhook event types
(api.events, with what each says and whether endpoints can subscribe to it), the API key scopes
(apikeys.scopes), and the API reference pages."""

from django.template.response import TemplateResponse
from django.urls import path, reverse

from api.events import event_types
from apikeys.scopes import SCOPES
from portal.access import portal_page


@portal_page
def catalogues_page(request):
    return TemplateResponse(
        request,
        "portal/catalogues.html",
        {
            "title": "Events and scopes",
            "events": event_types(),
            "scopes": list(SCOPES.items()),
            "docs": [
                ("API reference (Swagger UI)", reverse("swagger-ui")),
                ("API reference (ReDoc)", reverse("redoc")),
                ("OpenAPI document", reverse("schema")),
            ],
        },
    )


urlpatterns = [path("catalogues/", catalogues_page, name="catalogues")]
