from django.urls import path

from apikeys.views import ApiKeyViewSet

urlpatterns = [
    path(
        "organizations/<str:organization_id>/api-keys",
        ApiKeyViewSet.as_view({"get": "list", "post": "create"}),
        name="organization-api-keys",
    ),
    path(
        "organizations/<str:organization_id>/api-keys/<str:key_id>",
        ApiKeyViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="organization-api-key-detail",
    ),
    path(
        "organizations/<str:organization_id>/api-keys/<str:key_id>/usage",
        ApiKeyViewSet.as_view({"get": "usage"}),
        name="organization-api-key-usage",
    ),
]
