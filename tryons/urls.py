from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.bulk.urls import bulk_job_urls
from tryons.catalogue.bulk_views import GarmentExportViewSet, GarmentImportViewSet
from tryons.catalogue.views import GarmentViewSet
from tryons.status_views import ServiceStatusView, status_page
from tryons.views import CartTryOnViewSet, RenderCallbackView, TryOnViewSet

router = SimpleRouter(trailing_slash=False)
router.register("v1/cart-tryons", CartTryOnViewSet, basename="cart-tryon")
router.register("v1/tryons", TryOnViewSet, basename="tryon")
router.register("v1/garments", GarmentViewSet, basename="garment")

urlpatterns = [
    # Before the router's garment routes, whose {garmentId} would take "imports" and "exports".
    *bulk_job_urls("v1/garments", "garment", GarmentImportViewSet, GarmentExportViewSet),
    *router.urls,
    path("v1/status", ServiceStatusView.as_view(), name="status"),
    path("docs/status", status_page, name="docs-status"),
    path("internal/tryon-render-callbacks", RenderCallbackView.as_view(), name="tryon-render-callback"),
]
