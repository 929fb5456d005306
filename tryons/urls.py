from django.urls import path
from rest_framework.routers import SimpleRouter

from tryons.catalogue.bulk_views import GarmentExportViewSet, GarmentImportViewSet
from tryons.catalogue.views import GarmentViewSet
from tryons.views import CartTryOnViewSet, RenderCallbackView, TryOnViewSet

router = SimpleRouter(trailing_slash=False)
router.register("v1/cart-tryons", CartTryOnViewSet, basename="cart-tryon")
router.register("v1/tryons", TryOnViewSet, basename="tryon")
router.register("v1/garments", GarmentViewSet, basename="garment")

# Before the router's garment routes, whose {garmentId} would take "imports" and "exports".
bulk_urls = [
    path(
        "v1/garments/imports",
        GarmentImportViewSet.as_view({"get": "list", "post": "create"}),
        name="garment-imports",
    ),
    path(
        "v1/garments/imports/<str:id>",
        GarmentImportViewSet.as_view({"get": "retrieve"}),
        name="garment-import",
    ),
    path(
        "v1/garments/imports/<str:id>/errors",
        GarmentImportViewSet.as_view({"get": "errors"}),
        name="garment-import-errors",
    ),
    path(
        "v1/garments/exports",
        GarmentExportViewSet.as_view({"get": "list", "post": "create"}),
        name="garment-exports",
    ),
    path(
        "v1/garments/exports/<str:id>",
        GarmentExportViewSet.as_view({"get": "retrieve"}),
        name="garment-export",
    ),
]

urlpatterns = [
    *bulk_urls,
    *router.urls,
    path("internal/tryon-render-callbacks", RenderCallbackView.as_view(), name="tryon-render-callback"),
]
