"""The real URLconf plus one small partner view, to test the partner machinery without other apps' views."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.partner import PartnerAPIMixin


class EchoView(PartnerAPIMixin, APIView):
    required_scopes = {"get": "customers:read", "post": "customers:create"}

    def get(self, request, thing_id):
        return Response({"organizationId": self.organization_id, "thingId": thing_id})

    def post(self, request, thing_id):
        return Response({"created": thing_id}, status=201)


urlpatterns = [
    path("api/v1/test-things/<str:thing_id>", EchoView.as_view(), name="test-things"),
    path("", include("config.urls")),
]
