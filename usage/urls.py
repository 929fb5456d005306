from django.urls import path

from usage.views import ApiKeyUsageViewSet, OrganizationUsageViewSet

urlpatterns = [
    path(
        "organizations/<str:organization_id>/usage",
        OrganizationUsageViewSet.as_view({"get": "usage"}),
        name="organization-usage",
    ),
    path(
        "organizations/<str:organization_id>/logs/requests",
        OrganizationUsageViewSet.as_view({"get": "logs"}),
        name="organization-request-logs",
    ),
    path(
        "organizations/<str:organization_id>/logs/requests/<str:request_id>",
        OrganizationUsageViewSet.as_view({"get": "log_entry"}),
        name="organization-request-log-entry",
    ),
    path(
        "organizations/<str:organization_id>/api-keys/<str:key_id>/usage",
        ApiKeyUsageViewSet.as_view({"get": "usage"}),
        name="organization-api-key-usage",
    ),
]
