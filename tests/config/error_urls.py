"""A URLconf for error-path tests: the real API plus views that fail on purpose."""

from django.urls import path
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response

from config.urls import urlpatterns as real_urlpatterns


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def explode_in_drf(request):
    raise RuntimeError("database password=hunter2 leaked into an exception")


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def explode_for_customer(request, external_id):
    raise RuntimeError("failure while reading a customer")


def explode_in_django(request):
    raise RuntimeError("plain django failure with secret gx_live_abcdefgh1234567890")


@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
def echo(request):
    return Response({"received": request.data})


urlpatterns = [
    path("api/test/explode", explode_in_drf),
    path("api/test/explode-django", explode_in_django),
    path("api/test/customers/<str:external_id>/explode", explode_for_customer),
    path("api/test/echo", echo),
    *real_urlpatterns,
]

handler404 = "api.errors.handler404"
handler500 = "api.errors.handler500"
