from django.urls import path
from rest_framework.routers import SimpleRouter

from tryons.catalogue.views import GarmentViewSet
from tryons.views import CartTryOnViewSet, RenderCallbackView, TryOnViewSet

router = SimpleRouter(trailing_slash=False)
router.register("v1/cart-tryons", CartTryOnViewSet, basename="cart-tryon")
router.register("v1/tryons", TryOnViewSet, basename="tryon")
router.register("v1/garments", GarmentViewSet, basename="garment")

urlpatterns = [
    *router.urls,
    path("internal/tryon-render-callbacks", RenderCallbackView.as_view(), name="tryon-render-callback"),
]
