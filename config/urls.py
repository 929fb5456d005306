from pathlib import Path

import drf_spectacular_sidecar
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

SIDECAR_ASSETS = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"

# Partner traffic (/api/v1) is the hot path: its patterns come first so resolving them tries the fewest.
urlpatterns = [
    path("api/", include("customers.urls")),
    path("api/", include("tryons.urls")),
    path("api/", include("webhooks.urls")),
    path("admin/console/", include("console.urls")),  # before admin/: its catch-all would take these
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("", include("infrastructure.urls")),  # /health, /health/ready, /metrics, signed media
    path("api/", include("organizations.auth_urls")),
    path("api/", include("api.urls")),  # the docs pages we serve: examples, the Postman collection
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/docs/guide", include("api.guide")),  # the partner guide, rendered from docs/guide
    # Our ReDoc page is drf-spectacular's without its Google Fonts links (ReDoc falls back to system fonts).
    path(
        "api/redoc",
        SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html"),
        name="redoc",
    ),
    # The docs pages' own assets, served by Django so that they also load where nothing serves /static/
    # (gunicorn in production); `runserver` serves the same files itself before this is reached.
    path(
        "static/drf_spectacular_sidecar/<path:path>",
        serve,
        {"document_root": SIDECAR_ASSETS},
        name="api-docs-assets",
    ),
    path("api/", include("organizations.urls")),
    path("api/", include("apikeys.urls")),
    path("api/", include("usage.urls")),
]

handler400 = "api.errors.handler400"
handler403 = "api.errors.handler403"
handler404 = "api.errors.handler404"
handler500 = "api.errors.handler500"
